"""Fixtures for the Docker-less Lambda runtime's tests: real subprocesses, no moto server.

One warm runtime is shared per module where a test allows it; tests that need their own caps or
options make one with ``make_runtime`` (shut down after the test). After every test no environment
process may be left but the shared runtime's warm ones: checked with ``live_processes()`` and at the
OS level (every child of this process whose environment has ``AWS_LAMBDA_RUNTIME_API``).
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from iatk._backend.moto.lambda_ import FunctionSpec, LambdaRuntime

DATA = Path(__file__).resolve().parents[2] / "data" / "lambda"
PY = DATA / "python"
NODE = DATA / "node"
PY_RUNTIME = "python3.11"

_open: list[LambdaRuntime] = []


def zip_dir(root: Path, prefix: str = "", extra: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """A zip of a directory (modes kept), with ``extra`` members ``name: (data, mode)``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(prefix + path.relative_to(root).as_posix())
                info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
                zf.writestr(info, path.read_bytes())
        for name, (data, mode) in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def zip_files(files: dict[str, str | bytes], mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def py_spec(handler: str, name: str | None = None, **kw: Any) -> FunctionSpec:
    """A Python function served from tests/data/lambda/python."""
    kw.setdefault("code", PY)
    return FunctionSpec(
        name=name or handler.replace(".", "-").replace("/", "-"), runtime=PY_RUNTIME, handler=handler, **kw
    )


def env_children() -> set[int]:
    """This process's children that are Lambda environments (OS view)."""
    me = os.getpid()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] == "Z" or int(fields[1]) != me:
                continue
            if b"AWS_LAMBDA_RUNTIME_API=" in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def wait_gone(pids: set[int] | list[int], timeout: float = 5.0) -> set[int]:
    """The pids still running (not zombies) after up to ``timeout`` seconds."""
    end = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < end:
        left = {pid for pid in left if _running(pid)}
        if left:
            time.sleep(0.02)
    return left


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.fixture(scope="module")
def runtime() -> Iterator[LambdaRuntime]:
    """A warm runtime shared by the module's tests (its environments stay up between tests)."""
    rt = LambdaRuntime(use_awslambdaric=False)
    _open.append(rt)
    yield rt
    rt.shutdown()
    _open.remove(rt)
    assert rt.live_processes() == []
    assert wait_gone(env_children(), 3.0) == set()


@pytest.fixture
def make_runtime(no_process_left: None) -> Iterator[Callable[..., LambdaRuntime]]:
    """Build a runtime of the test's own (shut down at the end of the test)."""
    made: list[LambdaRuntime] = []

    def make(**kw: Any) -> LambdaRuntime:
        kw.setdefault("use_awslambdaric", False)
        rt = LambdaRuntime(**kw)
        made.append(rt)
        _open.append(rt)
        return rt

    yield make
    for rt in made:
        rt.shutdown()
        _open.remove(rt)
        assert rt.live_processes() == []


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """After the test (and its own runtimes' shutdown) only the shared runtimes' warm processes remain."""
    yield
    allowed = {pid for rt in _open for pid in rt.live_processes()}
    strays = wait_gone(env_children() - allowed, 3.0)
    assert strays == set(), f"environment processes left after the test: {sorted(strays)}"
