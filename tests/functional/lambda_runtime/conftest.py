"""Fixtures for the Docker-less Lambda runtime's tests: real subprocesses, no moto server.

One warm runtime is shared per module where a test allows it; tests that need their own caps or
options make one with ``make_runtime`` (shut down after the test). After every test no environment
process may be left but the shared runtime's warm ones: checked with ``live_processes()`` and at the
OS level (every child of this process whose environment has ``AWS_LAMBDA_RUNTIME_API``). Processes
that were there before the test (the warm environments of this process's embedded backend, which
other test modules share) are not the test's: only what it started must be gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lambda_helpers import OPEN

from iatk._backend.moto.lambda_ import LambdaRuntime
from lambda_processes import env_children, wait_gone


@pytest.fixture(scope="module")
def runtime() -> Iterator[LambdaRuntime]:
    """A warm runtime shared by the module's tests (its environments stay up between tests)."""
    before = env_children()
    rt = LambdaRuntime(use_awslambdaric=False)
    OPEN.append(rt)
    yield rt
    rt.shutdown()
    OPEN.remove(rt)
    assert rt.live_processes() == []
    assert wait_gone(env_children() - before, 3.0) == set()


@pytest.fixture
def make_runtime(no_process_left: None) -> Iterator[Callable[..., LambdaRuntime]]:
    """Build a runtime of the test's own (shut down at the end of the test)."""
    made: list[LambdaRuntime] = []

    def make(**kw: Any) -> LambdaRuntime:
        kw.setdefault("use_awslambdaric", False)
        rt = LambdaRuntime(**kw)
        made.append(rt)
        OPEN.append(rt)
        return rt

    yield make
    for rt in made:
        rt.shutdown()
        OPEN.remove(rt)
        assert rt.live_processes() == []


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """After the test (and its own runtimes' shutdown) only the shared runtimes' warm processes remain."""
    before = env_children()
    yield
    allowed = {pid for rt in OPEN for pid in rt.live_processes()} | before
    strays = wait_gone(env_children() - allowed, 3.0)
    assert strays == set(), f"environment processes left after the test: {sorted(strays)}"
