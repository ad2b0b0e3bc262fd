"""moto's one seam, ``LambdaFunction.invoke``, answered by the embedded Lambda service.

Every path in moto that runs a function ends in ``LambdaFunction.invoke(body, request_headers,
response_headers)`` (MOTO.md §8b), which would start a Docker container. :func:`install_invoke`
replaces it, in the server's process, so the Invoke API answers as AWS does:

- ``RequestResponse`` (the default): the function runs (:meth:`~.lambda_service.LambdaService.invoke`);
  the answer is its payload, with ``X-Amz-Function-Error: Unhandled`` for any error of the function
  or its runtime, ``X-Amz-Log-Result`` (the last 4 KB of the log, base64) when ``LogType=Tail``, and
  ``X-Amz-Executed-Version``; the caller's ``X-Amz-Trace-Id`` is joined;
- ``Event``: queued (:meth:`~.lambda_service.LambdaService.invoke_async`), answered 202 at once;
- ``DryRun``: nothing runs, 204 (moto has already checked that the function exists);
- a function whose runtime cannot be served: ``InvalidRuntimeException`` naming the function, its
  runtime and what to install (HTTP 400 here, where AWS says 502: botocore would retry a 502);
- no environment free within the caps: 429 ``TooManyRequestsException``, as AWS throttles.

The deprecated ``InvokeAsync`` API queues the invocation too (moto ran it synchronously). moto's own
inline callers (DynamoDB and Kinesis streams, S3 notifications, Logs subscriptions) call the same
method with empty headers and so run the function synchronously, as moto always did.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .lambda_ import ConcurrencyLimitExceeded, LambdaRuntimeError, RuntimeNotSupported
from .lambda_service import current_service

__all__ = ["install_invoke", "request_header"]


def request_header(headers: Any, name: str) -> str | None:
    """A request header, whatever the mapping (werkzeug's headers or moto's plain dicts)."""
    if not headers:
        return None
    for key in (name, name.lower(), name.title()):
        value = headers.get(key)
        if value:
            return str(value)
    lowered = name.lower()
    for key, value in getattr(headers, "items", list)():
        if str(key).lower() == lowered and value:
            return str(value)
    return None


def _client_context(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _error(code: str, message: str, status: int, **fields: Any) -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError(code, message)
    err.code = status
    err.description = json.dumps({"__type": code, "message": message, "Type": "User", **fields})
    return err


def invoke(fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """The replacement of ``LambdaFunction.invoke``."""
    service = current_service()
    if isinstance(body, (bytes, bytearray)):
        payload = bytes(body)
    elif isinstance(body, str):
        payload = body.encode()
    elif body is None:
        payload = b""
    else:
        payload = json.dumps(body).encode()
    kind = request_header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    trace = request_header(request_headers, "X-Amz-Trace-Id") or request_header(request_headers, "X-Amzn-Trace-Id")
    if kind == "DryRun":
        return b""
    if kind == "Event":
        service.invoke_async(fn, payload, trace_header=trace, source="Invoke (Event)")
        return b""
    try:
        result = service.invoke(
            fn,
            payload,
            trace_header=trace,
            log_tail=request_header(request_headers, "X-Amz-Log-Type") == "Tail",
            client_context=_client_context(request_header(request_headers, "X-Amz-Client-Context")),
        )
    except RuntimeNotSupported as err:
        raise _error("InvalidRuntimeException", str(err), 400) from None
    except ConcurrencyLimitExceeded as err:
        reason = (
            "ReservedFunctionConcurrentInvocationLimitExceeded"
            if fn.reserved_concurrency not in (None, "")
            else "ConcurrentInvocationLimitExceeded"
        )
        raise _error("TooManyRequestsException", str(err), 429, Reason=reason) from None
    except LambdaRuntimeError as err:
        raise _error("ServiceException", str(err), 500) from None
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if result.log_result is not None:
        response_headers["x-amz-log-result"] = result.log_result
    response_headers["x-amz-executed-version"] = result.executed_version
    return result.payload


def install_invoke() -> None:
    """Replace ``LambdaFunction.invoke`` and the ``InvokeAsync`` answer (idempotent)."""
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    if getattr(LambdaFunction, "_iatk_runtime", False):
        return

    def invoke_method(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return invoke(self, body, request_headers, response_headers)

    def invoke_async(self: Any) -> tuple[int, dict[str, Any], str]:
        from urllib.parse import unquote

        index = -3 if self.path.endswith("/") else -2
        name = unquote(self.path.rsplit("/", 3)[index])
        fn = self.backend.get_function(name, None)
        current_service().invoke_async(
            fn, self.body or b"{}", trace_header=request_header(self.headers, "X-Amzn-Trace-Id"), source="InvokeAsync"
        )
        return 202, {"status": 202}, json.dumps({"Status": 202})

    LambdaFunction.invoke = invoke_method  # type: ignore[method-assign]
    LambdaResponse.invoke_async = invoke_async  # type: ignore[method-assign]
    LambdaFunction._iatk_runtime = True  # type: ignore[attr-defined]
