"""iatk's Python bootstrap: the runtime loop of one execution environment, run as a script.

The child interpreter runs ``python -B -S -u bootstrap.py CONFIG`` where CONFIG is a JSON object:
``paths`` (the code directory, then the layers' ``python/lib/python3.X/site-packages`` and ``python/``),
``sites`` (site directories added after the standard library, ``.pth`` files honoured: the test's
virtualenv, or only the packages AWS's runtime provides under strict mode) and ``ric`` (a directory
from which to run AWS's ``awslambdaric`` instead of this loop, or null).

The loop is AWS's: import the handler (``_HANDLER``: ``module.func`` or ``pkg/sub/module.func``);
on failure post ``/init/error`` (``Runtime.ImportModuleError``, ``Runtime.UserCodeSyntaxError``,
``Runtime.HandlerNotFound``, ``Runtime.MalformedHandlerName``) and exit; otherwise forever ``next``,
call ``handler(event, context)``, post the response or the error document
``{"errorMessage", "errorType", "requestId", "stackTrace"}``.

This file imports only the standard library: nothing of iatk is importable in the child.
"""

from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"

#: The request id in flight (read by the logging filter).
_state = {"request_id": ""}


class _Fault(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _ClientContext:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.custom = doc.get("custom")
        self.env = doc.get("env")
        self.client = _Client(doc["client"]) if isinstance(doc.get("client"), dict) else None


class _Client:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.installation_id = doc.get("installation_id")
        self.app_title = doc.get("app_title")
        self.app_version_name = doc.get("app_version_name")
        self.app_version_code = doc.get("app_version_code")
        self.app_package_name = doc.get("app_package_name")


class _CognitoIdentity:
    def __init__(self, doc: dict[str, Any] | None) -> None:
        doc = doc or {}
        self.cognito_identity_id = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")


class LambdaContext:
    """The handler's context, with the attributes and types of AWS's Python runtime."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_arn: str, client_context: Any, identity: Any) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_arn
        # A string, as in AWS's runtime (awslambdaric reads it from the environment as is).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = _ClientContext(client_context) if isinstance(client_context, dict) else None
        self.identity = _CognitoIdentity(identity if isinstance(identity, dict) else None)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _state["request_id"]
        return True


class _Api:
    """The Runtime API client: one keep-alive connection, no proxy (a direct socket to 127.0.0.1)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._conn = http.client.HTTPConnection(host, int(port))

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        self._conn.request(method, f"/2018-06-01/runtime/{path}", body=body, headers=headers or {})
        response = self._conn.getresponse()
        return response, response.read()


def _import_handler(spec: str) -> Callable[..., Any]:
    try:
        module_name, func_name = spec.rsplit(".", 1)
    except ValueError as err:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {err}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise _Fault(
                "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {module_name} as a handler module"
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as err:
        raise _Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {err}") from None
    except SyntaxError as err:
        trace = [f'  File "{err.filename}" Line {err.lineno}\n    {err.text}']
        raise _Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {err}", trace) from None
    handler = getattr(module, func_name, None)
    if handler is None:
        raise _Fault("Runtime.HandlerNotFound", f"Handler '{func_name}' missing on module '{module_name}'")
    return handler  # type: ignore[no-any-return]


def _error_doc(error_type: str, message: str, trace: list[str], request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def _log_error(doc: dict[str, Any]) -> None:
    lines = [f"[ERROR] {doc['errorType']}: {doc['errorMessage']}"]
    if doc["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line.rstrip("\n") for line in doc["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")


def _user_trace(tb: Any) -> list[str]:
    """The traceback without this file's own frames, formatted as AWS's runtime does."""
    frames = [frame for frame in traceback.extract_tb(tb) if frame.filename != __file__]
    return traceback.format_list(frames)


def _setup_paths(config: dict[str, Any]) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path[:] = [*config.get("paths", []), *rest]
    import site

    for directory in config.get("sites", []):
        site.addsitedir(directory)
    # -S also skipped the builtins site.main() adds (exit, quit, help...): handlers may use them.
    for setup in ("setquit", "setcopyright", "sethelper"):
        getattr(site, setup, lambda: None)()


def _setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    if level:
        root.setLevel(level.upper())


def _run_ric(directory: str, handler: str) -> None:
    import runpy

    sys.path.append(directory)
    sys.argv = ["awslambdaric", handler]
    runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    sys.argv = [os.path.abspath(__file__)]
    _setup_paths(config)
    handler_spec = os.environ.get("_HANDLER", "")
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        os.chdir(task_root)
    if config.get("ric"):
        _run_ric(config["ric"], handler_spec)
        return
    api = _Api(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _setup_logging()
    try:
        handler = _import_handler(handler_spec)
    except _Fault as fault:
        doc = _error_doc(fault.error_type, fault.message, fault.trace, "")
        _log_error(doc)
        api.call("POST", "init/error", json.dumps(doc).encode(), {_ERROR_TYPE_HEADER: fault.error_type})
        sys.exit(1)
    except Exception as err:  # an exception raised by the module's own top-level code
        doc = _error_doc(type(err).__name__, str(err), _user_trace(err.__traceback__), "")
        _log_error(doc)
        api.call("POST", "init/error", json.dumps(doc).encode(), {_ERROR_TYPE_HEADER: "Runtime.Unknown"})
        sys.exit(1)
    while True:
        response, body = api.call("GET", "invocation/next")
        headers = response.headers
        request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        _state["request_id"] = request_id
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        client_context = headers.get("Lambda-Runtime-Client-Context")
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            request_id,
            int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            json.loads(client_context) if client_context else None,
            json.loads(identity) if identity else None,
        )
        try:
            try:
                event = json.loads(body) if body else {}
            except ValueError as err:
                raise _Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {err}") from None
            result = handler(event, context)
            try:
                out = json.dumps(result).encode()
            except (TypeError, ValueError) as err:
                raise _Fault("Runtime.MarshalError", f"Unable to marshal response: {err}") from None
        except _Fault as fault:
            doc = _error_doc(fault.error_type, fault.message, fault.trace, request_id)
        except Exception as err:
            doc = _error_doc(type(err).__name__, str(err), _user_trace(err.__traceback__), request_id)
        else:
            sys.stdout.flush()
            api.call("POST", f"invocation/{request_id}/response", out)
            continue
        _log_error(doc)
        sys.stdout.flush()
        api.call(
            "POST", f"invocation/{request_id}/error", json.dumps(doc).encode(), {_ERROR_TYPE_HEADER: doc["errorType"]}
        )


if __name__ == "__main__":
    main()
