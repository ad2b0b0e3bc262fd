"""The Lambda service's control API on the server's port, so any process of the run can settle or prewarm.

The runtime lives in the process that owns the server (the xdist controller); a worker's
``EmbeddedBackend`` is only attached to it. These endpoints reach the owner's service:

- ``POST /iatk-api/lambda/settle`` ``{"timeout": 30}``: 200 ``{"settled": true}`` once every
  asynchronous invocation has finished, else 408 ``{"settled": false, "pending": [...]}``;
- ``POST /iatk-api/lambda/prewarm`` ``{"functions": [...], "stack": "name", "n": 1, "region": "..."}``:
  200 ``{"warm": {"name": count}}``;
- ``GET /iatk-api/lambda/processes``: ``{"pids": [...]}``, the live execution environments (for tests).

:func:`settle` and :func:`prewarm` are the client side (``EmbeddedBackend.settle`` / ``prewarm``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from iatk.exceptions import ConfigError, WaitTimeout

from .control import _DIRECT
from .lambda_service import current_service

__all__ = ["PREFIX", "LambdaControl", "live_processes", "prewarm", "settle", "stack_functions"]

PREFIX = "/iatk-api/lambda/"
DEFAULT_ACCOUNT = "123456789012"


def stack_functions(stack: str, region: str, account: str = DEFAULT_ACCOUNT) -> list[str]:
    """The names of a stack's ``AWS::Lambda::Function`` resources (nested stacks included)."""
    from moto.cloudformation.models import cloudformation_backends

    backend: Any = cloudformation_backends[account][region]
    found: list[str] = []
    try:
        _, resources = backend.describe_stack_resources(stack, None)
    except Exception as err:
        raise ConfigError(f"no stack {stack!r} in the embedded backend ({region}): {err}") from None
    for resource in resources:
        kind = getattr(resource, "type", None) or _type_of(resource)
        if kind == "AWS::Lambda::Function":
            found.append(str(resource.physical_resource_id))
        elif kind == "AWS::CloudFormation::Stack":
            found += stack_functions(str(resource.physical_resource_id), region, account)
    return found


def _type_of(resource: Any) -> str:
    try:
        return str(type(resource).cloudformation_type())
    except (AttributeError, NotImplementedError):
        return ""


def _prewarm_here(body: dict[str, Any]) -> dict[str, int]:
    from moto.awslambda.utils import get_backend

    region = str(body.get("region") or "us-east-1")
    account = str(body.get("account") or DEFAULT_ACCOUNT)
    names = [str(name) for name in body.get("functions") or []]
    if body.get("stack"):
        names += stack_functions(str(body["stack"]), region, account)
    backend = get_backend(account, region)
    functions = []
    for name in names:
        try:
            functions.append(backend.get_function(name))
        except Exception:
            raise ConfigError(f"no function {name!r} in the embedded backend ({region})") from None
    return current_service().prewarm(functions, int(body.get("n") or 1))


class LambdaControl:
    """WSGI middleware: the ``/iatk-api/lambda/*`` endpoints, everything else to ``app``."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            body = json.loads(raw) if raw else {}
            status, answer = self._handle(path[len(PREFIX) :], body)
        except ConfigError as err:
            status, answer = 400, {"message": str(err)}
        except Exception as err:  # the control API answers, never drops the connection
            status, answer = 500, {"message": f"{type(err).__name__}: {err}"}
        data = json.dumps(answer).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 500: "Internal Server Error"}
        start_response(
            f"{status} {reason.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _handle(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if action == "settle":
            try:
                current_service().settle(float(body.get("timeout", 30.0)))
            except WaitTimeout as err:
                return 408, {"settled": False, "pending": list(err.last or []), "message": str(err)}
            return 200, {"settled": True}
        if action == "prewarm":
            return 200, {"warm": _prewarm_here(body)}
        if action == "processes":
            return 200, {"pids": current_service().live_processes()}
        return 404, {"message": f"no such Lambda control action: {action!r}"}


def _call(url: str, action: str, payload: dict[str, Any] | None, timeout: float) -> tuple[int, dict[str, Any]]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(  # noqa: S310 - the embedded server's http://127.0.0.1 URL
        f"{url.rstrip('/')}{PREFIX}{action}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data is not None else "GET",
    )
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        try:
            answer = json.loads(err.read() or b"{}")
        except ValueError:
            answer = {}
        return int(err.code), answer


def settle(url: str, timeout: float = 30.0) -> None:
    """Wait until the server's asynchronous Lambda work has finished (see ``EmbeddedBackend.settle``)."""
    status, answer = _call(url, "settle", {"timeout": timeout}, timeout + 10)
    if status == 408:
        pending = answer.get("pending") or []
        raise WaitTimeout(
            f"the embedded Lambda service did not settle within {timeout:g} s; still pending:\n  "
            + "\n  ".join(pending[:20]),
            description="asynchronous Lambda invocations to finish",
            timeout=timeout,
            last=pending,
        )
    if status != 200:
        raise ConfigError(
            f"the embedded server at {url} cannot settle its Lambda work: {answer.get('message', status)}"
        )


def prewarm(
    url: str, functions: Iterable[str] = (), *, stack: str | None = None, n: int = 1, region: str = "us-east-1"
) -> dict[str, int]:
    """Start warm environments on the server (see ``EmbeddedBackend.prewarm``)."""
    body = {"functions": list(functions), "stack": stack, "n": n, "region": region}
    status, answer = _call(url, "prewarm", body, 120)
    if status != 200:
        raise ConfigError(f"cannot prewarm Lambda functions on {url}: {answer.get('message', status)}")
    return {str(k): int(v) for k, v in (answer.get("warm") or {}).items()}


def live_processes(url: str) -> list[int]:
    """The pids of the server's live execution environments."""
    status, answer = _call(url, "processes", None, 10)
    if status != 200:
        raise ConfigError(f"cannot list the Lambda environments of {url}: {answer.get('message', status)}")
    return [int(pid) for pid in answer.get("pids") or []]
