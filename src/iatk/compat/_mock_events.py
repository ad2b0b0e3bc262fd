"""``AwsIatk.generate_mock_event``: the registry schema, aws-iatk's barebone values, then the contexts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._barebone import barebone_event
from ._errors import IatkException, explained
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
    contexts: Any,
) -> GenerateMockEventOutput:
    """A barebone event from a registry schema (aws-iatk's values), with ``contexts`` applied in order."""
    from iatk.mock_events import load_schema

    if not (registry_name and schema_name):
        raise explained(
            IatkException('requires both "RegistryName" and "SchemaName"', 400),
            "generate_mock_event reads a Schema Registry schema; for a local file use "
            "iatk.mock_event(schema_file=...), or on the embedded backend the schema_dir setting",
        )
    schema = load_schema(registry_name, schema_name, schema_version or None, session=session)
    event: Any = barebone_event(schema, event_ref or None, bool(skip_optional))
    appliers = context_list(contexts)
    if appliers is not None:
        event = apply_contexts(event, appliers)
    return GenerateMockEventOutput(event)


def context_list(contexts: Any) -> list[Callable[[Any], Any]] | None:
    """The functions to apply: a list as in aws-iatk, also a tuple or another iterable, or one function.

    aws-iatk applied ``contexts`` only when it was a ``list`` (a tuple was silently ignored).
    """
    if contexts is None:
        return None
    if callable(contexts):
        return [contexts]
    if isinstance(contexts, str | bytes | dict):
        raise IatkException(f"contexts must be a list of functions event -> event; got {type(contexts).__name__}", 400)
    try:
        return list(contexts)
    except TypeError:
        raise IatkException(
            f"contexts must be a list of functions event -> event; got {type(contexts).__name__}", 400
        ) from None


def apply_contexts(generated_event: Any, callable_contexts: list[Callable[[Any], Any]]) -> Any:
    """aws-iatk's ``_apply_contexts``: each function gets the previous one's result, in order.

    After each, the result must be JSON-serializable (400); after the last, it must not be None (404).
    The messages are aws-iatk's, word for word (suites compare them); the note says which context.
    """
    for func in callable_contexts:
        name = getattr(func, "__name__", None) or repr(func)
        if not callable(func):
            raise IatkException(f"context applier {name} is not a function event -> event", 400)
        generated_event = func(generated_event)
        try:
            json.dumps(generated_event)
        except (TypeError, ValueError):
            raise explained(
                IatkException(f"context applier {name} returns a non-JSON-serializable result", 400),
                "a context must return the event as JSON data: dicts, lists, strings, numbers, booleans, None",
            ) from None
    if generated_event is None:
        last = callable_contexts[-1] if callable_contexts else None
        raise explained(
            IatkException("event is empty, make sure function returns a valid event", 404),
            f"the last context ({getattr(last, '__name__', repr(last))}) returned None: end it with `return event`",
        )
    return generated_event
