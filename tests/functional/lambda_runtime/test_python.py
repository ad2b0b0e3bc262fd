"""Python functions on the local interpreter: warm and cold, the context, logs, isolation, layers, strict."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from lambda_helpers import DATA, PY, PY_RUNTIME, py_spec, zip_dir, zip_files

from iatk._backend.moto.lambda_ import FunctionSpec


def test_echo_cold_then_warm(runtime):
    spec = py_spec("app.echo", name="echo-cold-warm")
    first = runtime.invoke(spec, b'{"n": 1}')
    second = runtime.invoke(spec, json.dumps({"n": 2}))
    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})
    assert first.function_error is None
    assert second.function_error is None
    assert first.cold
    assert first.init_duration_ms is not None
    assert first.init_duration_ms > 0
    assert not second.cold
    assert second.init_duration_ms is None
    assert first.environment_id == second.environment_id
    assert first.request_id != second.request_id
    assert first.logs[0].startswith("INIT_START Runtime Version: python:")
    assert "init: app imported" in first.logs  # the import's output belongs to the cold invocation, before START
    assert first.logs.index("init: app imported") < next(
        i for i, line in enumerate(first.logs) if line.startswith("START")
    )
    assert "Init Duration:" in first.logs[-1]
    assert "Init Duration:" not in second.logs[-1]
    assert second.logs[0] == f"START RequestId: {second.request_id} Version: $LATEST"
    assert second.logs[-2] == f"END RequestId: {second.request_id}"
    report = second.logs[-1]
    assert report.startswith(f"REPORT RequestId: {second.request_id}\tDuration: ")
    for part in ("Billed Duration: ", "Memory Size: 128 MB", "Max Memory Used: "):
        assert part in report
    assert len(runtime.environments(spec)) == 1


def test_zip_code_and_nested_handler(runtime):
    spec = FunctionSpec(name="nested", runtime=PY_RUNTIME, handler="pkg/sub/module.func", code=zip_dir(PY))
    assert runtime.invoke(spec).json() == {"where": "pkg.sub.module"}
    dotted = FunctionSpec(name="nested-dots", runtime=PY_RUNTIME, handler="pkg.sub.module.func", code=zip_dir(PY))
    assert runtime.invoke(dotted).json() == {"where": "pkg.sub.module"}


def test_context_fields_and_remaining_time(runtime):
    spec = py_spec("app.context_fields", name="ctx", timeout=5, memory=256, version="7")
    result = runtime.invoke(spec, json.dumps({"sleep": 0.2}), client_context=json.dumps({"custom": {"k": "v"}}))
    ctx = result.json()
    assert ctx["aws_request_id"] == result.request_id
    assert ctx["function_name"] == "ctx"
    assert ctx["function_version"] == "7" == result.executed_version
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as in AWS's runtime
    assert ctx["log_group_name"] == "/aws/lambda/ctx"
    assert ctx["log_stream_name"] == result.log_stream_name
    assert "/[7]" in ctx["log_stream_name"]
    assert ctx["client_context"] == {"k": "v"}
    assert 4500 < ctx["remaining_first"] <= 5000
    assert ctx["remaining_first"] - ctx["remaining_after"] >= 180  # real: it counts down
    alias = runtime.invoke(spec, b"{}", invoked_arn=spec.arn + ":live")
    assert alias.json()["invoked_function_arn"].endswith("function:ctx:live")


def test_environment_isolation(make_runtime, monkeypatch, tmp_path):
    monkeypatch.setenv("IATK_LAMBDA_CANARY", "leaked")
    monkeypatch.setenv("AWS_PROFILE", "real-profile")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("PYTHONPATH", "/should/not/leak")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://test-process:4318/v1/traces")
    rt = make_runtime(
        endpoint_url="http://127.0.0.1:5999",
        xray_daemon_address="127.0.0.1:2999",
        otlp_traces_endpoint="http://127.0.0.1:5999/v1/traces",
    )
    own = {
        "MY_SETTING": "mine",
        "AWS_REGION": "eu-west-9",  # reserved: Lambda's value wins
        "AWS_LAMBDA_FUNCTION_NAME": "evil",  # reserved
        "_HANDLER": "other.handler",  # reserved
        "AWS_ENDPOINT_URL": "https://real.amazonaws.com",  # iatk's own: never towards real AWS
        "LANG": "fr_FR.UTF-8",  # not reserved: the function's value wins, as on AWS
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://xray.eu-central-1.amazonaws.com/v1/traces",  # iatk's own
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",  # iatk's own: the receiver speaks OTLP/HTTP
    }
    spec = py_spec("app.environ", name="isolated", environment=own, region="eu-central-1")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    result = rt.invoke(spec, trace_id=trace)
    env = result.json()["environ"]
    assert "IATK_LAMBDA_CANARY" not in env
    assert "AWS_PROFILE" not in env
    assert "PYTHONPATH" not in env
    assert env["AWS_SECRET_ACCESS_KEY"] == "iatk-embedded" == env["AWS_ACCESS_KEY_ID"] == env["AWS_SESSION_TOKEN"]
    assert env["MY_SETTING"] == "mine"
    assert env["LANG"] == "fr_FR.UTF-8"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "isolated"
    assert env["_HANDLER"] == "app.environ"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2999"
    assert env["_AWS_XRAY_DAEMON_PORT"] == "2999"
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://127.0.0.1:5999/v1/traces"
    assert env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert env["_X_AMZN_TRACE_ID"] == trace
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/isolated"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == result.log_stream_name
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{PY_RUNTIME}"
    assert env["LAMBDA_TASK_ROOT"] == str(PY) == result.json()["cwd"]
    assert Path(env["LAMBDA_RUNTIME_DIR"], "bootstrap.py").is_file()
    assert env["TZ"] == ":UTC"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["PATH"] != os.environ["PATH"]
    assert Path(env["HOME"]).is_dir()
    assert not any(Path(env["HOME"]).iterdir())
    assert result.json()["executable"] == sys.executable
    # Nothing else: every key is Lambda's, iatk's, the function's, or one of the few kept on purpose.
    expected = {
        "MY_SETTING",
        "LANG",
        "PATH",
        "HOME",
        "TZ",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_ENDPOINT_URL",
        "AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_PORT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "_X_AMZN_TRACE_ID",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LD_LIBRARY_PATH",
        "LC_CTYPE",  # LC_CTYPE: set by the interpreter itself (PEP 538) when LANG is coerced
    }
    assert set(env) <= expected, set(env) - expected


def test_dummy_key_is_the_embedded_sessions():
    from iatk._aws import EMBEDDED_KEY_ID
    from iatk._backend.moto.lambda_.environment import DUMMY_KEY_ID

    assert DUMMY_KEY_ID == EMBEDDED_KEY_ID


def test_trace_header_generated_when_absent(runtime):
    env = runtime.invoke(py_spec("app.environ", name="trace-gen")).json()["environ"]
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert ";Parent=" in env["_X_AMZN_TRACE_ID"]


def test_log_tail_is_the_last_4kb(runtime):
    spec = py_spec("app.chatty", name="chatty")
    result = runtime.invoke(spec, json.dumps({"lines": 3000}), log_tail=True)  # 300 KB: more than a pipe holds
    assert result.json() == "done"
    assert sum(1 for line in result.logs if line == "x" * 99) == 3000
    assert result.log_tail is not None
    assert len(result.log_tail.encode()) <= 4096
    assert result.log_tail.rstrip("\n").endswith(result.logs[-1])
    import base64

    assert base64.b64decode(result.log_result or "").decode() == result.log_tail
    assert runtime.invoke(spec, json.dumps({"lines": 1})).log_tail is None


def test_python_logging_has_aws_format(runtime, tmp_path):
    (tmp_path / "logs.py").write_text(
        "import logging\nlogger = logging.getLogger()\nlogger.setLevel(logging.INFO)\n"
        "def handler(event, context):\n    logger.info('hello %s', 'there')\n    return 1\n"
    )
    result = runtime.invoke(FunctionSpec(name="logs", runtime=PY_RUNTIME, handler="logs.handler", code=tmp_path))
    line = next(line for line in result.logs if "hello there" in line)
    level, stamp, request_id, message = line.split("\t")
    assert (level, request_id, message) == ("[INFO]", result.request_id, "hello there")
    assert stamp.endswith("Z")


def test_layers_python(runtime, tmp_path):
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    layer_one = zip_dir(DATA / "layers" / "py" / "site-packages", prefix=f"python/lib/{version}/site-packages/")
    layer_two = zip_files(
        {"python/layer_helper.py": (DATA / "layers" / "py" / "python" / "layer_helper.py").read_text()}
    )
    spec = py_spec("app.layered", name="layered", layers=(layer_one, layer_two))
    assert runtime.invoke(spec).json() == ["layer_helper", "layered_pkg"]
    without = py_spec("app.layered", name="layered-none")
    assert runtime.invoke(without).error_type == "ModuleNotFoundError"


def test_virtualenv_visible_by_default(runtime):
    assert runtime.invoke(py_spec("app.uses_yaml", name="yaml-venv")).json() == "a: 1\n"


def test_strict_mode_hides_the_virtualenv(make_runtime, tmp_path):
    rt = make_runtime(strict=True)
    (tmp_path / "strict_yaml.py").write_text("import yaml\n\ndef handler(event, context):\n    return 1\n")
    result = rt.invoke(
        FunctionSpec(name="strict-yaml", runtime=PY_RUNTIME, handler="strict_yaml.handler", code=tmp_path)
    )
    assert result.function_error == "Unhandled"
    assert result.error_type == "Runtime.ImportModuleError"
    assert "No module named 'yaml'" in result.json()["errorMessage"]
    # What AWS's runtime provides stays importable: boto3.
    assert rt.invoke(py_spec("app.uses_boto3", name="strict-boto3")).json() == "boto3"
    path = rt.invoke(py_spec("app.environ", name="strict-path")).json()["sys_path"]
    assert not any("site-packages" in p and "strict-site" not in p for p in path), path


@pytest.mark.parametrize("declared", [v for v in ("python3.9", "python3.13", "python3.12") if v != PY_RUNTIME][:2])
def test_any_python3_runs_on_the_local_interpreter(runtime, declared):
    result = runtime.invoke(FunctionSpec(name=f"v-{declared}", runtime=declared, handler="app.echo", code=PY), b"[1]")
    assert result.json() == [1]
    assert f"(local interpreter; declared {declared})" in result.logs[0]


def test_warm_invokes_reuse_one_environment(runtime):
    """After the cold start, calls one after another go to the same warm environment (speed: benchmarks/)."""
    spec = py_spec("app.echo", name="echo-fast")
    first = runtime.invoke(spec)
    later = [runtime.invoke(spec, b"{}") for _ in range(10)]
    assert first.cold
    assert not any(result.cold for result in later)
    assert {result.environment_id for result in later} == {first.environment_id}
