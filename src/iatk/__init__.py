"""iatk: integration tests for deployed serverless AWS applications, from pytest.

The public API is flat: ``iatk.Stack``, ``iatk.Listener``, ``iatk.get_trace_tree``... Names load on
first use, so ``import iatk`` (and the pytest plugin) stays cheap and imports no boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import (
    AwsError,
    CleanupError,
    ConfigError,
    DeployError,
    IatkError,
    ListenerError,
    PatternError,
    PutEventsError,
    ResourceNotInStack,
    SchemaError,
    StackError,
    StackNotFound,
    StackNotReady,
    StackOutputNotFound,
    StateTestError,
    TraceError,
    TraceIncomplete,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ._config import Settings, resolve_settings
    from .embedded import EmbeddedBackend, embedded_session
    from .stack import Stack, StackResource, deploy_stack

#: Public name → the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "EmbeddedBackend": "embedded",
    "Settings": "_config",
    "Stack": "stack",
    "StackResource": "stack",
    "deploy_stack": "stack",
    "embedded_session": "embedded",
    "resolve_settings": "_config",
}

__all__ = [
    "AwsError",
    "CleanupError",
    "ConfigError",
    "DeployError",
    "EmbeddedBackend",
    "IatkError",
    "ListenerError",
    "PatternError",
    "PutEventsError",
    "ResourceNotInStack",
    "SchemaError",
    "Settings",
    "Stack",
    "StackError",
    "StackNotFound",
    "StackNotReady",
    "StackOutputNotFound",
    "StackResource",
    "StateTestError",
    "TraceError",
    "TraceIncomplete",
    "WaitTimeout",
    "deploy_stack",
    "embedded_session",
    "resolve_settings",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._aws import VERSION

        return VERSION
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iatk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "__version__"])
