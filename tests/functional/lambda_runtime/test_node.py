"""Node.js functions on a local `node`: CommonJS, ES modules, async and callback handlers, errors, layers."""

from __future__ import annotations

import json
import shutil

import pytest
from lambda_helpers import DATA, NODE, zip_dir, zip_files

from iatk._backend.moto.lambda_ import FunctionSpec, RuntimeNotSupported

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no `node` on PATH")


def node_spec(code, handler, name=None, **kw):
    return FunctionSpec(name=name or f"node-{handler}", runtime="nodejs20.x", handler=handler, code=code, **kw)


def test_commonjs_async_handler_and_context(runtime):
    spec = node_spec(NODE / "cjs", "index.handler", name="node-cjs", memory=512, timeout=4)
    first = runtime.invoke(spec, b'{"a": 1}')
    second = runtime.invoke(spec, b'{"a": 2}')
    out = second.json()
    assert first.cold
    assert not second.cold
    assert first.environment_id == second.environment_id
    assert out["event"] == {"a": 2}
    assert out["awsRequestId"] == second.request_id
    assert out["functionName"] == "node-cjs"
    assert out["functionVersion"] == "$LATEST"
    assert out["invokedFunctionArn"] == spec.arn
    assert out["memoryLimitInMB"] == "512"
    assert out["logGroupName"] == "/aws/lambda/node-cjs"
    assert out["logStreamName"] == second.log_stream_name
    assert 3000 < out["remaining"] <= 4000
    assert "init: cjs" in " ".join(first.logs)
    assert first.logs[0].startswith("INIT_START")


def test_console_lines_have_aws_prefix(runtime):
    result = runtime.invoke(node_spec(NODE / "callback", "index.handler", name="node-console"))
    line = next(line for line in result.logs if line.endswith("timer ran"))
    stamp, request_id, level, message = line.split("\t")
    assert (request_id, level, message) == (result.request_id, "INFO", "timer ran")
    assert stamp.endswith("Z")


def test_es_module_and_other_extensions(runtime):
    assert runtime.invoke(node_spec(NODE / "esm", "index.handler"), b"[1]").json()["esm"] is True
    assert runtime.invoke(node_spec(NODE / "cjs", "other.handler")).json() == "from .cjs"
    assert runtime.invoke(node_spec(NODE / "modjs", "app.handler")).json() == "esm via package.json type"
    assert runtime.invoke(node_spec(NODE / "cjs", "index.nested.deeper.handler")).json() == "nested"


def test_callback_style(runtime):
    spec = node_spec(NODE / "callback", "index.handler", name="node-callback")
    result = runtime.invoke(spec, b'{"x": 1}')
    assert result.json() == {"callback": True, "event": {"x": 1}}
    # callbackWaitsForEmptyEventLoop (default true): the timer ran before the answer, inside this invocation
    assert any(line.endswith("timer ran") for line in result.logs)
    nowait = runtime.invoke(node_spec(NODE / "callback", "index.nowait", name="node-nowait"))
    assert nowait.json() == "answered without waiting"
    assert not any(line.endswith("timer ran") for line in nowait.logs)  # answered before its timer
    failed = runtime.invoke(node_spec(NODE / "callback", "index.fails", name="node-cbfail"))
    assert failed.function_error == "Unhandled"
    assert failed.json()["errorType"] == "TypeError"
    assert failed.json()["errorMessage"] == "callback failure"


def test_sync_handler_without_answer_returns_null(runtime):
    result = runtime.invoke(node_spec(NODE / "cjs", "index.sync", name="node-sync"))
    assert result.function_error is None
    assert result.payload == b"null"


def test_unhandled_error_shape(runtime):
    result = runtime.invoke(node_spec(NODE / "errors", "index.handler", name="node-throws"))
    assert result.function_error == "Unhandled"
    doc = result.json()
    assert doc["errorType"] == "RangeError"
    assert doc["errorMessage"] == "node boom"
    assert doc["trace"][0] == "RangeError: node boom"
    assert any("index.js" in line for line in doc["trace"])


@pytest.mark.parametrize(
    ("handler", "error_type", "fragment"),
    [
        ("nowhere.handler", "Runtime.ImportModuleError", "Cannot find module"),
        ("missing.handler", "Runtime.ImportModuleError", "iatk-no-such-node-module"),
        ("syntax.handler", "Runtime.UserCodeSyntaxError", "SyntaxError"),
        ("index.absent", "Runtime.HandlerNotFound", "index.absent is undefined or not exported"),
        ("index.notfn", "Runtime.HandlerNotFound", "index.notfn is not a function"),
    ],
)
def test_init_errors(runtime, tmp_path_factory, handler, error_type, fragment):
    code = tmp_path_factory.mktemp("node-errors")
    shutil.copytree(NODE / "errors", code, dirs_exist_ok=True)
    (code / "syntax.js").write_text("exports.handler = async () => { return 1 +; };\n")
    result = runtime.invoke(node_spec(code, handler, name=f"node-init-{handler}"))
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == error_type
    assert fragment in result.json()["errorMessage"]
    assert runtime.environments(node_spec(code, handler, name=f"node-init-{handler}")) == []


def test_exit_and_timeout(runtime):
    exited = runtime.invoke(node_spec(NODE / "errors", "index.exits", name="node-exit"))
    assert exited.json()["errorType"] == "Runtime.ExitError"
    assert exited.json()["errorMessage"].endswith("Runtime exited with error: exit status 7")
    slow = node_spec(NODE / "cjs", "index.sleep", name="node-slow", timeout=1)
    timed_out = runtime.invoke(slow, json.dumps({"seconds": 20}))
    assert timed_out.json()["errorType"] == "Sandbox.Timedout"
    assert runtime.invoke(slow, json.dumps({"seconds": 0})).cold


def test_uncaught_exception_fails_the_invocation_and_ends_the_environment(runtime):
    spec = node_spec(NODE / "errors", "index.uncaught", name="node-uncaught")
    result = runtime.invoke(spec)
    assert result.function_error == "Unhandled"
    assert result.json()["errorMessage"] == "thrown later"
    assert runtime.invoke(spec).cold


def test_layers_node_modules(runtime):
    layer = zip_dir(DATA / "layers" / "node")
    spec = node_spec(NODE / "cjs", "index.layered", name="node-layer", layers=(layer,))
    assert runtime.invoke(spec).json() == "hello node from a layer"


def test_environment_isolation_node(make_runtime, monkeypatch):
    monkeypatch.setenv("IATK_LAMBDA_CANARY", "leaked")
    monkeypatch.setenv("AWS_PROFILE", "real-profile")
    rt = make_runtime(endpoint_url="http://127.0.0.1:5998")
    spec = node_spec(NODE / "cjs", "index.environ", name="node-env", environment={"MINE": "1", "AWS_REGION": "x"})
    env = rt.invoke(spec).json()["environ"]
    assert "IATK_LAMBDA_CANARY" not in env
    assert "AWS_PROFILE" not in env
    assert env["MINE"] == "1"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5998"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_nodejs20.x"
    assert env["NODE_PATH"].endswith(str(NODE / "cjs"))


def test_inline_zipfile_named_index_py_is_served_as_index_js(runtime):
    # moto renders an inline Code.ZipFile as index.py (+ cfnresponse.py) whatever the runtime.
    code = zip_files(
        {
            "index.py": "const r = require('cfn-response');\n"
            "exports.handler = async () => ({ inline: true, cfn: typeof r.send });\n",
            "cfnresponse.py": "# moto's python helper\n",
        }
    )
    result = runtime.invoke(node_spec(code, "index.handler", name="node-inline"))
    assert result.json() == {"inline": True, "cfn": "function"}


def test_no_node_is_a_clear_error(make_runtime):
    rt = make_runtime(node="")
    with pytest.raises(RuntimeNotSupported) as info:
        rt.invoke(node_spec(NODE / "cjs", "index.handler", name="needs-node"))
    message = str(info.value)
    assert "needs-node" in message
    assert "nodejs20.x" in message
    assert "install Node.js" in message
    assert info.value.function == "needs-node"
    assert info.value.runtime == "nodejs20.x"
