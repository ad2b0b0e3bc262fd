"""``AwsIatk.generate_mock_event``: :func:`iatk.mock_event`, then aws-iatk's context appliers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._errors import IatkException
from ._outputs import GenerateMockEventOutput

if TYPE_CHECKING:
    import boto3


def generate(
    session: boto3.Session | None,
    registry_name: str | None,
    schema_name: str | None,
    schema_version: str | None,
    event_ref: str | None,
    skip_optional: bool | None,
    contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | None,
    schema_file: str | None,
) -> GenerateMockEventOutput:
    """A mock event from a registry schema or a local file, with ``contexts`` applied in order."""
    from iatk.mock_events import mock_event

    if schema_file is None and not (registry_name and schema_name):
        raise IatkException('requires both "RegistryName" and "SchemaName" (or schema_file=)', 400)
    if contexts is not None and callable(contexts):
        appliers: list[Callable[[dict[str, Any]], Any]] = [contexts]
    else:
        appliers = list(contexts or ())
    for apply in appliers:
        if not callable(apply):
            raise IatkException(f"contexts must be functions event -> event; got {apply!r}", 400)
    event: Any = mock_event(
        registry_name if schema_file is None else None,
        schema_name if schema_file is None else None,
        schema_version or None,
        schema_file=schema_file,
        event_ref=event_ref or None,
        skip_optional=bool(skip_optional),
        session=session,
    )
    for apply in appliers:
        event = apply(event)
        name = getattr(apply, "__name__", repr(apply))
        if event is None:
            raise IatkException(f"event is empty, make sure function returns a valid event (context {name})", 404)
        try:
            json.dumps(event)
        except (TypeError, ValueError):
            raise IatkException(f"context applier {name} returns a non-JSON-serializable result", 400) from None
    return GenerateMockEventOutput(event)
