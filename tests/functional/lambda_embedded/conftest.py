"""The embedded Lambda tests' stack: ``tests/data/templates/lambda_app.yaml`` deployed once per module.

After the module, every Lambda environment process of this test process must be one the runtime
still owns (warm ones): no stray is left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from lambda_app_helpers import PY_RUNTIME

import iatk
from lambda_processes import env_children, wait_gone


@pytest.fixture(scope="module")
def app(embedded: Any, moto_session: Any, data_dir: Any) -> Iterator[iatk.Stack]:
    name = f"lambda-{uuid.uuid4().hex[:8]}"
    stack = iatk.deploy_stack(
        data_dir / "templates" / "lambda_app.yaml",
        name,
        {"PythonRuntime": PY_RUNTIME, "Source": f"test.{name}"},
        session=moto_session,
    )
    yield stack
    embedded.settle(30)
    owned = set(embedded._lambda.live_processes())
    strays = wait_gone(env_children() - owned, 3.0)
    assert strays == set(), f"environment processes the runtime does not own: {sorted(strays)}"
