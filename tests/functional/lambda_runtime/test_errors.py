"""Failures come back as AWS gives them: init errors, exceptions, exits, timeouts, oversized answers."""

from __future__ import annotations

import json
import time

import pytest
from lambda_helpers import PY_RUNTIME, py_spec

from iatk._backend.moto.lambda_ import FunctionSpec
from lambda_processes import wait_gone


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A code directory with broken modules (written here: a syntax error cannot live in the repo's lint)."""
    root = tmp_path_factory.mktemp("broken")
    (root / "syntax_bad.py").write_text("def handler(event, context)\n    return 1\n")
    (root / "import_bad.py").write_text("import iatk_no_such_module_for_lambda_tests\n")
    (root / "init_raises.py").write_text("raise RuntimeError('init failed on purpose')\n")
    (root / "fine.py").write_text("def handler(event, context):\n    return 'fine'\n")
    return root


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "nowhere.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'nowhere': No module named 'nowhere'",
        ),
        (
            "import_bad.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'import_bad': No module named 'iatk_no_such_module_for_lambda_tests'",
        ),
        ("fine.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'fine'"),
        ("syntax_bad.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax_bad'"),
        ("nodots", "Runtime.MalformedHandlerName", "Bad handler 'nodots'"),
        ("init_raises.handler", "RuntimeError", "init failed on purpose"),
    ],
)
def test_init_errors(runtime, broken, handler, error_type, message):
    spec = FunctionSpec(name=f"init-{handler}", runtime=PY_RUNTIME, handler=handler, code=broken)
    result = runtime.invoke(spec)
    assert result.function_error == "Unhandled"
    doc = result.json()
    assert doc["errorType"] == error_type
    assert doc["errorMessage"].startswith(message)
    assert isinstance(doc["stackTrace"], list)
    assert result.cold
    assert any(line.startswith("INIT_REPORT") and f"Error Type: {error_type}" in line for line in result.logs)
    assert any(line.startswith(f"[ERROR] {error_type}") for line in result.logs)
    again = runtime.invoke(spec)  # the environment did not survive its init: the next call is cold again
    assert again.cold
    assert again.error_type == error_type
    assert runtime.environments(spec) == []


def test_unhandled_exception(runtime):
    spec = py_spec("app.raises", name="raises")
    result = runtime.invoke(spec, json.dumps({"why": "testing"}))
    assert result.function_error == "Unhandled"
    doc = result.json()
    assert doc["errorType"] == "ValueError"
    assert doc["errorMessage"] == "boom: testing"
    assert doc["requestId"] == result.request_id
    assert len(doc["stackTrace"]) == 1
    assert "app.py" in doc["stackTrace"][0]
    assert "in raises" in doc["stackTrace"][0]
    assert "bootstrap.py" not in "".join(doc["stackTrace"])
    assert "[ERROR] ValueError: boom: testing" in result.logs
    again = runtime.invoke(spec)  # an exception does not end the environment
    assert not again.cold
    assert again.environment_id == result.environment_id


def test_marshal_error(runtime):
    result = runtime.invoke(py_spec("app.not_json", name="not-json"))
    assert result.error_type == "Runtime.MarshalError"
    assert "Unable to marshal response" in result.json()["errorMessage"]


def test_invalid_json_event(runtime):
    result = runtime.invoke(py_spec("app.echo", name="bad-event"), b"{not json")
    assert result.error_type == "Runtime.UnmarshalError"


@pytest.mark.parametrize(("handler", "how"), [("app.exits", "exit status 3"), ("app.killed", "signal: killed")])
def test_exit_error(runtime, handler, how):
    spec = py_spec(handler, name=f"exit-{handler}")
    result = runtime.invoke(spec)
    assert result.function_error == "Unhandled"
    doc = result.json()
    assert doc["errorType"] == "Runtime.ExitError"
    assert doc["errorMessage"] == f"RequestId: {result.request_id} Error: Runtime exited with error: {how}"
    assert "Runtime.ExitError" in result.logs
    assert "Status: error\tError Type: Runtime.ExitError" in result.logs[-1]
    assert runtime.environments(spec) == []
    assert runtime.invoke(spec).cold


def test_timeout_kills_and_next_call_is_cold(runtime):
    spec = py_spec("app.sleep", name="sleeper", timeout=1)
    warm = runtime.invoke(spec, json.dumps({"seconds": 0}))
    pid = warm.json()["pid"]
    started = time.monotonic()
    result = runtime.invoke(spec, json.dumps({"seconds": 30}))
    elapsed = time.monotonic() - started
    assert elapsed > 0.9  # killed at its Timeout, not before
    assert result.function_error == "Unhandled"
    doc = result.json()
    assert doc["errorType"] == "Sandbox.Timedout"
    assert doc["errorMessage"] == f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"
    assert any(line.endswith(f"{result.request_id} Task timed out after 1.00 seconds") for line in result.logs)
    assert result.logs[-1].endswith("Status: timeout")
    assert result.duration_ms >= 1000
    assert wait_gone([pid], 2.0) == set()
    after = runtime.invoke(spec, json.dumps({"seconds": 0}))
    assert after.cold
    assert after.environment_id != warm.environment_id
    assert after.json()["pid"] != pid


def test_response_too_large(runtime):
    result = runtime.invoke(py_spec("app.big", name="big"), json.dumps({"size": 6_300_000}))
    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in result.json()["errorMessage"]
    ok = runtime.invoke(py_spec("app.big", name="big"), json.dumps({"size": 6_000_000}))
    assert ok.function_error is None
    assert len(ok.json()) == 6_000_000
