"""iatk: integration tests for deployed serverless AWS applications, from pytest."""

from __future__ import annotations

from typing import Any

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

__all__ = [
    "AwsError",
    "CleanupError",
    "ConfigError",
    "DeployError",
    "IatkError",
    "ListenerError",
    "PatternError",
    "PutEventsError",
    "ResourceNotInStack",
    "SchemaError",
    "StackError",
    "StackNotFound",
    "StackNotReady",
    "StackOutputNotFound",
    "StateTestError",
    "TraceError",
    "TraceIncomplete",
    "WaitTimeout",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._aws import VERSION

        return VERSION
    raise AttributeError(f"module 'iatk' has no attribute {name!r}")
