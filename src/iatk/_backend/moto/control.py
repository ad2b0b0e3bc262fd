"""The moto server's control API: ``POST /moto-api/reset``, ``/moto-api/config``; is an endpoint moto?

The server is on 127.0.0.1: these calls never go through a proxy, whatever ``HTTP_PROXY`` /
``HTTPS_PROXY`` say (CI runners often set them without ``NO_PROXY``).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

#: An opener that ignores the environment's proxies (an empty ProxyHandler turns them off).
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON to ``url`` (a control endpoint of a moto server) and read the answer."""
    request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with _DIRECT.open(request, timeout=10) as response:
        response.read()


def set_stepfunctions_execution(url: str, *, enabled: bool) -> None:
    """Turn moto's Step Functions interpreter on or off (``POST /moto-api/config``)."""
    post_json(f"{url}/moto-api/config", {"stepfunctions": {"execute_state_machine": enabled}})


def reset_backends(url: str) -> None:
    """Forget every resource on the server (``POST /moto-api/reset``)."""
    post_json(f"{url}/moto-api/reset", {})


_moto_servers: dict[str, bool] = {}


def is_moto_server(url: str, *, timeout: float = 3.0) -> bool:
    """Whether the endpoint at ``url`` is a moto server (a standalone ``moto_server`` or the embedded one).

    It answers ``GET /moto-api/config`` with its configuration (a JSON object naming ``batch`` and
    ``lambda``); AWS, LocalStack and anything else do not. The answer is kept per URL for
    the process. A moto server applies rules and targets at once and delivers to SQS inside
    ``PutEvents``, so a listener needs no readiness canary there.
    """
    import urllib.error
    from urllib.parse import urlsplit

    base = url.rstrip("/")
    if base in _moto_servers:
        return _moto_servers[base]
    host = urlsplit(base).hostname or ""
    opener = _DIRECT if host in ("127.0.0.1", "localhost", "::1") else urllib.request.build_opener()
    try:
        with opener.open(f"{base}/moto-api/config", timeout=timeout) as response:
            answer = json.loads(response.read().decode())
        found = isinstance(answer, dict) and {"batch", "lambda"} <= set(answer)
    except (urllib.error.URLError, OSError, ValueError):
        found = False
    _moto_servers[base] = found
    return found
