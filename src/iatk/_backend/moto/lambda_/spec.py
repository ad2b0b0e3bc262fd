"""What the runtime is told about a function, what one invocation gives back, and the errors.

:class:`FunctionSpec` is the whole description of a function that the runtime needs: part 2 builds
one from moto's ``LambdaFunction`` (``fn.code_bytes``, the layers' ``code_bytes``, the configuration)
per invocation; it is cheap to build and hashes its code once. :class:`InvokeResult` is what one
invocation returns, shaped for the Invoke API's answer (payload, ``X-Amz-Function-Error``,
``X-Amz-Log-Result``, ``X-Amz-Executed-Version``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from iatk.exceptions import IatkError

__all__ = [
    "DEFAULT_ACCOUNT",
    "ConcurrencyLimitExceeded",
    "FunctionSpec",
    "InvokeResult",
    "LambdaRuntimeError",
    "RuntimeNotSupported",
]

#: The account of a default ARN (moto's default account).
DEFAULT_ACCOUNT = "123456789012"

#: Code or a layer: the bytes of a zip, or a local directory served in place.
Code = bytes | Path


class LambdaRuntimeError(IatkError):
    """The embedded Lambda runtime could not run an invocation at all (not an error of the function).

    A function's own failures (its exceptions, an import error, a timeout, an exit) are not raised:
    they come back in :class:`InvokeResult` as AWS gives them (``function_error="Unhandled"``).
    """

    help_section = "Lambda on the embedded backend"


class RuntimeNotSupported(LambdaRuntimeError):
    """The function's runtime cannot be served here: ``.function``, ``.runtime`` say which."""

    def __init__(self, message: str, *, function: str, runtime: str) -> None:
        super().__init__(message, code="InvalidRuntimeException")
        self.function = function
        self.runtime = runtime


class ConcurrencyLimitExceeded(LambdaRuntimeError):
    """No execution environment became free in time (AWS's answer: ``TooManyRequestsException``)."""

    def __init__(self, message: str, *, function: str, limit: int) -> None:
        super().__init__(message, code="TooManyRequestsException")
        self.function = function
        self.limit = limit


@dataclass(frozen=True)
class FunctionSpec:
    """One function as the runtime sees it.

    Args:
        name: FunctionName.
        runtime: ``python3.x``, ``nodejs*``, ``provided``, ``provided.al2``, ``provided.al2023``.
        handler: ``module.func``, ``pkg/sub/module.func``, ``index.handler`` (unused by ``provided*``
            except as ``_HANDLER``).
        code: The deployment package: zip bytes (``fn.code_bytes``) or a directory served in place.
        arn: The function's unqualified ARN; derived from ``region`` and ``name`` when empty.
        version: ``$LATEST`` or a published version number.
        layers: The layers, in the function's order (later ones overwrite earlier ones, as in /opt).
        timeout: Seconds (the function's ``Timeout``).
        memory: MB (``MemorySize``; reported, not enforced).
        environment: The function's own ``Environment.Variables``.
        reserved_concurrency: ``ReservedConcurrentExecutions`` (None: unreserved).
        region: The function's region (``AWS_REGION``).
        package_type: ``Zip`` or ``Image`` (images cannot be run here).
        config_hash: What identifies this code and configuration; a change starts fresh environments.
            Empty: computed from every field (code bytes hashed once per spec object).
    """

    name: str
    runtime: str
    handler: str
    code: Code = field(repr=False)
    arn: str = ""
    version: str = "$LATEST"
    layers: tuple[Code, ...] = field(default=(), repr=False)
    timeout: float = 3.0
    memory: int = 128
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)
    reserved_concurrency: int | None = None
    region: str = "us-east-1"
    package_type: str = "Zip"
    config_hash: str = ""

    def __post_init__(self) -> None:
        if not self.arn:
            object.__setattr__(self, "arn", f"arn:aws:lambda:{self.region}:{DEFAULT_ACCOUNT}:function:{self.name}")
        object.__setattr__(self, "environment", dict(self.environment))
        object.__setattr__(self, "layers", tuple(self.layers))

    @property
    def key(self) -> str:
        """The function's identity for pooling: its ARN and version (not the configuration)."""
        return f"{self.arn}:{self.version}"

    @cached_property
    def effective_hash(self) -> str:
        """``config_hash`` if given, else a SHA-256 of the code, layers and configuration."""
        if self.config_hash:
            return self.config_hash
        digest = hashlib.sha256()
        for part in (self.code, *self.layers):
            digest.update(code_digest(part).encode())
        conf = {
            "runtime": self.runtime,
            "handler": self.handler,
            "timeout": self.timeout,
            "memory": self.memory,
            "env": sorted(self.environment.items()),
            "region": self.region,
            "package_type": self.package_type,
        }
        digest.update(json.dumps(conf, sort_keys=True).encode())
        return digest.hexdigest()

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


def code_digest(code: Code) -> str:
    """A short identity of code: the SHA-256 of zip bytes, or ``dir:`` and the resolved path."""
    if isinstance(code, bytes):
        return hashlib.sha256(code).hexdigest()
    return f"dir:{Path(code).resolve()}"


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's outcome, as the Invoke API would answer it.

    Attributes:
        payload: The function's response, or the error document AWS returns (JSON bytes).
        function_error: None, or ``"Unhandled"`` (every error of the function or its runtime).
        request_id: The invocation's request id (``x-amzn-RequestId``).
        duration_ms: The invoke phase (after init), as in the REPORT line.
        init_duration_ms: The init phase of a cold environment; None when warm.
        logs: The invocation's log lines: init output (cold), START, the function's output, END, REPORT.
        log_tail: The last 4 KB of those lines as text when ``log_tail=True`` was asked, else None.
        log_stream_name: The environment's log stream (``2024/01/31/[$LATEST]<hex>``).
        executed_version: ``X-Amz-Executed-Version``.
        environment_id: Which execution environment ran it (stable while it stays warm).
    """

    payload: bytes
    function_error: str | None
    request_id: str
    duration_ms: float
    init_duration_ms: float | None
    logs: tuple[str, ...]
    log_tail: str | None
    log_stream_name: str
    executed_version: str
    environment_id: str

    @property
    def cold(self) -> bool:
        """Whether this invocation started its environment."""
        return self.init_duration_ms is not None

    @property
    def log_result(self) -> str | None:
        """``X-Amz-Log-Result``: the tail, base64-encoded (None unless a tail was asked)."""
        if self.log_tail is None:
            return None
        return base64.b64encode(self.log_tail.encode()).decode()

    @property
    def error_type(self) -> str | None:
        """The ``errorType`` of an error payload (None for a success or a payload without one)."""
        if self.function_error is None:
            return None
        doc = self.json()
        return doc.get("errorType") if isinstance(doc, dict) else None

    def json(self) -> Any:
        """The payload decoded as JSON (None for an empty payload)."""
        return json.loads(self.payload) if self.payload else None
