"""The Runtime API server spoken to directly (the protocol), and the code store's extraction rules."""

from __future__ import annotations

import http.client
import json
import os
import threading
import zipfile
from io import BytesIO

import pytest
from lambda_helpers import zip_files

from iatk._backend.moto.lambda_ import MAX_RESPONSE_BYTES, CodeStore, RuntimeApi
from iatk._backend.moto.lambda_.runtime_api import Invocation


@pytest.fixture
def api():
    server = RuntimeApi("test")
    yield server
    server.close()


def _conn(api):
    host, port = api.address.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=5)


def _call(conn, method, path, body=None, headers=None):
    conn.request(method, f"/2018-06-01/runtime/{path}", body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, dict(res.headers), res.read()


def test_next_blocks_until_an_invocation_then_carries_its_headers(api):
    assert api.address.startswith("127.0.0.1:")
    got = {}
    conn = _conn(api)
    worker = threading.Thread(
        target=lambda: got.update(
            zip(("status", "headers", "body"), _call(conn, "GET", "invocation/next"), strict=False)
        )
    )
    worker.start()
    worker.join(0.3)
    assert worker.is_alive()  # long-blocking
    inv = Invocation(
        payload=b'{"k": 1}',
        timeout=3,
        invoked_arn="arn:aws:lambda:us-east-1:1:function:f",
        trace_id="Root=1-a-b",
        client_context='{"custom": {}}',
        cognito_identity='{"cognitoIdentityId": "i"}',
    )
    api.submit(inv)
    worker.join(5)
    assert got["status"] == 200
    assert got["body"] == b'{"k": 1}'
    headers = got["headers"]
    assert headers["Lambda-Runtime-Aws-Request-Id"] == inv.request_id
    assert int(headers["Lambda-Runtime-Deadline-Ms"]) == inv.deadline_ms > 0
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == inv.invoked_arn
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-a-b"
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == '{"cognitoIdentityId": "i"}'
    # An unknown id: 400; the right one: 202; the same again: 400 (already answered).
    assert _call(conn, "POST", "invocation/nope/response", b"1")[0] == 400
    status, _, body = _call(conn, "POST", f"invocation/{inv.request_id}/response", b'"ok"')
    assert (status, json.loads(body)) == (202, {"status": "OK"})
    assert inv.outcome is not None
    assert inv.outcome.kind == "response"
    assert inv.outcome.body == b'"ok"'
    assert _call(conn, "POST", f"invocation/{inv.request_id}/response", b'"again"')[0] == 400
    # init/error after the init phase is an invalid state transition.
    assert _call(conn, "POST", "init/error", b"{}")[0] == 403
    assert _call(conn, "GET", "nothing/here")[0] == 404


def _dispatch(api):
    conn = _conn(api)
    inv = Invocation(payload=b"{}", timeout=3, invoked_arn="arn", trace_id="t")
    api.submit(inv)
    _call(conn, "GET", "invocation/next")
    return conn, inv


def test_error_post_with_header_and_without_body(api):
    conn, inv = _dispatch(api)
    doc = {"errorType": "Oops", "errorMessage": "m", "stackTrace": []}
    status, _, _ = _call(
        conn,
        "POST",
        f"invocation/{inv.request_id}/error",
        json.dumps(doc),
        {"Lambda-Runtime-Function-Error-Type": "Oops"},
    )
    assert status == 202
    assert inv.outcome.kind == "error"
    assert inv.outcome.error_type == "Oops"
    conn, inv = _dispatch(api)
    _call(
        conn, "POST", f"invocation/{inv.request_id}/error", b"", {"Lambda-Runtime-Function-Error-Type": "Unhandled.X"}
    )
    assert json.loads(inv.outcome.body)["errorType"] == "Unhandled.X"


def test_response_over_6mb_is_413(api):
    conn, inv = _dispatch(api)
    status, _, body = _call(conn, "POST", f"invocation/{inv.request_id}/response", b"x" * (MAX_RESPONSE_BYTES + 1))
    assert status == 413
    assert json.loads(body)["errorType"] == "RequestEntityTooLarge"
    assert inv.outcome.error_type == "Function.ResponseSizeTooLarge"


def test_chunked_response_body(api):
    conn, inv = _dispatch(api)
    conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{inv.request_id}/response")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
    assert conn.getresponse().status == 202
    assert inv.outcome.body == b"[1,2]"


def test_init_error_goes_to_the_waiting_invocation(api):
    inv = Invocation(payload=b"{}", timeout=3, invoked_arn="arn", trace_id="t")
    api.submit(inv)
    conn = _conn(api)
    doc = {"errorType": "Runtime.ImportModuleError", "errorMessage": "nope"}
    assert _call(conn, "POST", "init/error", json.dumps(doc))[0] == 202
    assert inv.outcome.kind == "init_error"
    assert inv.outcome.error_type == "Runtime.ImportModuleError"


def test_close_releases_a_blocked_next(api):
    conn = _conn(api)
    result = {}
    worker = threading.Thread(target=lambda: result.update(status=_call(conn, "GET", "invocation/next")[0]))
    worker.start()
    worker.join(0.2)
    api.close()
    worker.join(3)
    assert not worker.is_alive()
    assert result["status"] == 500
    api.close()  # idempotent


def test_code_store_extraction(tmp_path):
    store = CodeStore(tmp_path / "store")
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        script = zipfile.ZipInfo("bin/run")
        script.external_attr = 0o100755 << 16
        zf.writestr(script, "#!/bin/sh\n")
        zf.writestr("lib/data.txt", "data")
        link = zipfile.ZipInfo("lib/link.txt")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "data.txt")
        outside = zipfile.ZipInfo("lib/escape")
        outside.external_attr = 0o120777 << 16
        zf.writestr(outside, "../../../../etc/passwd")
    data = buf.getvalue()
    root = store.task_root(data, "provided.al2")
    assert os.access(root / "bin" / "run", os.X_OK)
    assert (root / "lib" / "link.txt").is_symlink()
    assert (root / "lib" / "link.txt").read_text() == "data"
    assert not (root / "lib" / "escape").exists()  # a link leaving the tree is dropped
    assert store.task_root(data, "provided.al2") == root  # once per code hash
    evil = zip_files({"../evil.py": "x"})
    with pytest.raises(ValueError, match="leaves the code directory"):
        store.task_root(evil, "python3.11")
    inline = zip_files({"index.py": "exports.handler = 1", "cfnresponse.py": "#"})
    assert (store.task_root(inline, "python3.11") / "index.py").exists()
    node_root = store.task_root(inline, "nodejs20.x")
    assert (node_root / "index.js").exists()
    assert (node_root / "node_modules" / "cfn-response" / "index.js").exists()
    store.close()
    assert not (tmp_path / "store" / "code").exists()
