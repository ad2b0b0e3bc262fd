"""Custom runtimes (provided*: the code's `bootstrap`) and AWS's awslambdaric, both against the same Runtime API."""

from __future__ import annotations

import json

import pytest
from lambda_helpers import DATA, PY, PY_RUNTIME, zip_dir, zip_files

from iatk._backend.moto.lambda_ import FunctionSpec, awslambdaric_dir


@pytest.mark.parametrize("runtime_name", ["provided", "provided.al2", "provided.al2023"])
def test_provided_bootstrap(runtime, runtime_name):
    spec = FunctionSpec(
        name=f"custom-{runtime_name}", runtime=runtime_name, handler="function.handler", code=zip_dir(DATA / "provided")
    )
    first = runtime.invoke(spec, b'{"q": 1}')
    assert first.function_error is None
    assert first.json() == {"provided": True, "handler": "function.handler", "event": {"q": 1}, "has_exec_env": False}
    assert first.cold
    assert not runtime.invoke(spec).cold
    failed = runtime.invoke(spec, json.dumps({"fail": True}))
    assert failed.function_error == "Unhandled"
    assert failed.error_type == "Custom.Failure"


def test_provided_bootstrap_from_a_layer(runtime):
    layer = zip_dir(DATA / "provided")  # bootstrap at the layer's root: /opt/bootstrap
    spec = FunctionSpec(
        name="custom-layer", runtime="provided.al2023", handler="h", code=zip_files({"README": "x"}), layers=(layer,)
    )
    assert runtime.invoke(spec).json()["provided"] is True


@pytest.mark.parametrize(
    ("files", "mode"),
    [({"README": "no bootstrap"}, 0o644), ({"bootstrap": "#!/bin/sh\nexit 0\n"}, 0o644)],
    ids=["missing", "not-executable"],
)
def test_provided_invalid_entrypoint(runtime, files, mode):
    spec = FunctionSpec(
        name=f"custom-bad-{mode}-{len(files)}", runtime="provided.al2", handler="h", code=zip_files(files, mode)
    )
    result = runtime.invoke(spec)
    assert result.function_error == "Unhandled"
    assert result.error_type == "Runtime.InvalidEntrypoint"


def test_provided_bootstrap_that_exits(runtime):
    code = zip_files({"bootstrap": "#!/bin/sh\necho starting\nexit 2\n"}, 0o755)
    result = runtime.invoke(FunctionSpec(name="custom-exit", runtime="provided.al2023", handler="h", code=code))
    assert result.error_type == "Runtime.ExitError"
    assert result.json()["errorMessage"].endswith("exit status 2")
    assert "starting" in result.logs


@pytest.mark.skipif(awslambdaric_dir() is None, reason="awslambdaric is not importable (it is not a dependency)")
def test_awslambdaric_runs_unchanged(make_runtime):
    rt = make_runtime(use_awslambdaric=True)
    assert rt.uses_awslambdaric
    echo = FunctionSpec(name="ric-echo", runtime=PY_RUNTIME, handler="app.context_fields", code=PY, memory=192)
    first = rt.invoke(echo, b'{"sleep": 0}')
    second = rt.invoke(echo, b'{"sleep": 0}')
    assert first.function_error is None, first.payload
    assert second.json()["aws_request_id"] == second.request_id
    assert not second.cold
    assert second.json()["memory_limit_in_mb"] == "192"
    raised = rt.invoke(FunctionSpec(name="ric-raise", runtime=PY_RUNTIME, handler="app.raises", code=PY))
    assert raised.function_error == "Unhandled"
    assert raised.error_type == "ValueError"
    missing = rt.invoke(FunctionSpec(name="ric-missing", runtime=PY_RUNTIME, handler="nowhere.handler", code=PY))
    assert missing.error_type == "Runtime.ImportModuleError"
    not_found = rt.invoke(FunctionSpec(name="ric-nf", runtime=PY_RUNTIME, handler="app.absent", code=PY))
    assert not_found.error_type == "Runtime.HandlerNotFound"
