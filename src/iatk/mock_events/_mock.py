""":func:`mock_event`: load the schema, generate from its root, fill the envelope, apply overrides and contexts."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from iatk._nesting import MAX_NESTING, nesting_message, too_deep
from iatk.exceptions import ConfigError, SchemaError

from ._envelope import _fill_envelope, merge_overrides
from ._generate import _Generator
from ._load import load_schema
from ._schema import EventSchema
from ._state import _MISSING, _Recursion

if TYPE_CHECKING:
    import boto3

_WHOLE_ATTEMPTS = 6


def _check_overrides(overrides: Any) -> None:
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"overrides must be a mapping (dict) deep-merged onto the event; got {type(overrides).__name__}"
        )
    where = too_deep(overrides, MAX_NESTING, root="overrides")
    if where is not None:
        raise ConfigError(nesting_message("overrides", where), help_section="Mock events")


def mock_event(
    registry: str | None = None,
    schema: str | EventSchema | None = None,
    version: str | int | None = None,
    *,
    schema_file: str | os.PathLike[str] | None = None,
    schema_text: str | Mapping[str, Any] | None = None,
    event_ref: str | None = None,
    skip_optional: bool = False,
    overrides: Mapping[str, Any] | None = None,
    contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | Callable[[dict[str, Any]], dict[str, Any]] = (),
    seed: int | None = None,
    session: boto3.Session | None = None,
) -> dict[str, Any]:
    """Generate an event that validates against an EventBridge schema.

    Give exactly one source: ``registry`` + ``schema`` (+ ``version``), ``schema_file`` or
    ``schema_text``. The value rules are in the :mod:`iatk.mock_events` docstring.

    When the root is an EventBridge envelope (``AWSEvent``: ``detail`` plus envelope properties),
    plain envelope fields get real-looking values: ``source`` and ``detail-type`` from the schema's
    ``x-amazon-events-source`` / ``x-amazon-events-detail-type``, ``id`` a uuid, ``account``
    :data:`DEFAULT_ACCOUNT`, ``region`` the session's, ``version`` ``"0"`` and ``resources`` ``[]``.

    Args:
        registry: Schema Registry name (on the embedded backend: a folder of the ``schema_dir``
            setting, see :func:`load_schema`).
        schema: Schema name in ``registry``, or an :class:`EventSchema` from :func:`load_schema`.
        version: Schema version (None: the latest).
        schema_file: A JSON or YAML schema file.
        schema_text: The schema as JSON or YAML text (or a parsed dict).
        event_ref: The event root: a component name or a ``#/...`` pointer. Default: ``AWSEvent``,
            else the only OpenAPI component, else the JSON Schema root.
        skip_optional: Leave out every property that is not required.
        overrides: Deep-merged onto the event: mappings merge key by key, any other value replaces.
            A non-mapping override also stands in for its schema node, which is then not generated,
            and a mapping override brings in an optional property even with ``skip_optional``.
        contexts: Functions ``event -> event`` applied in order after the overrides (aws-iatk's
            ``contexts``); a list, tuple, any iterable, or a single function.
        seed: Makes the event reproducible; None: as seed 0, but times are now and uuids fresh.
        session: boto3 session for the registry (default: the run's session).

    Returns:
        The event, a new ``dict`` each call.

    Raises:
        ConfigError: Bad or missing source arguments, overrides that are not a mapping.
        SchemaError: Schema, version or registry not found (the message lists what exists), an
            unknown ``event_ref`` (lists components), or a construct that cannot be generated (names
            its JSON pointer).
        TypeError: A context is not callable, returns something other than a dict (``None``
            included), or returns an event that is not JSON-serializable.
        AwsError: Another AWS failure reading the registry.

    IAM permissions: ``schemas:DescribeSchema`` for registry schemas (plus ``schemas:ListSchemaVersions``,
    ``schemas:ListSchemas``, ``schemas:ListRegistries`` to explain a not-found error).
    """
    _check_overrides(overrides)
    appliers = _context_list(contexts)
    loaded = load_schema(registry, schema, version, schema_file=schema_file, schema_text=schema_text, session=session)
    return _build(loaded, event_ref, skip_optional, overrides, appliers, seed, None, session)


def _build(
    loaded: EventSchema,
    event_ref: str | None,
    skip_optional: bool,
    overrides: Mapping[str, Any] | None,
    appliers: list[Callable[[dict[str, Any]], Any]],
    seed: int | None,
    edge: int | None,
    session: boto3.Session | None,
) -> dict[str, Any]:
    """One event from a loaded schema: generate (checked against the schema), envelope, overrides, contexts."""
    pointer, root = loaded.root(event_ref)
    problem: tuple[str, str] | None = None
    for attempt in range(_WHOLE_ATTEMPTS):
        generator = _Generator(loaded, seed=seed, skip_optional=skip_optional, edge=edge)
        generator.active.append(pointer)
        generated: Any
        try:
            with generator.salted(attempt, "$"):
                generated = generator.generate(
                    root, pointer, "$", None, overrides if overrides is not None else _MISSING
                )
        except _Recursion as err:
            raise SchemaError(
                f"{loaded.origin}: the recursion through {err.ref} cannot end: every path back to it is required "
                f"(schema {err.pointer}, event path {err.path}). Make one link optional or nullable, or pass "
                "overrides= with a value for that path"
            ) from None
        if not isinstance(generated, dict):
            raise SchemaError(
                f"{loaded.origin}: the event root {pointer} gives a {type(generated).__name__}, not an object; "
                "pass event_ref= naming the event's schema"
            )
        # the whole event is checked against its schema: what construction missed is drawn again
        problem = None if overrides else generator.checker.first_error(generated, root, pointer)
        if problem is None:
            break
    if problem is not None:
        where, what = problem
        raise SchemaError(
            f"{loaded.origin}: cannot build an event that meets `{where.rsplit('/', 1)[-1]}` at schema {where} "
            f"({what}, after {_WHOLE_ATTEMPTS} tries); add an `example` to that schema node, or pass overrides= "
            "with a value for that event path"
        )
    event: dict[str, Any] = generated
    _fill_envelope(event, generator, root, pointer, session)
    if overrides:
        event = merge_overrides(event, overrides)
        try:
            json.dumps(event)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"overrides make the event non-JSON-serializable: {err}") from err
    for apply in appliers:
        label = getattr(apply, "__qualname__", None) or repr(apply)
        result = apply(event)
        if result is None:
            raise TypeError(
                f"context {label} returned None: a context must return the event (end it with `return event`)"
            )
        if not isinstance(result, Mapping):
            raise TypeError(f"context {label} returned a {type(result).__name__}; a context must return the event dict")
        try:
            json.dumps(result)
        except (TypeError, ValueError) as err:
            raise TypeError(f"context {label} returned an event that is not JSON-serializable: {err}") from err
        event = dict(result)
    return event


def _context_list(contexts: Any) -> list[Callable[[dict[str, Any]], Any]]:
    if contexts is None:
        return []
    if callable(contexts):
        return [contexts]
    if isinstance(contexts, str | bytes | Mapping) or not isinstance(contexts, Iterable):
        raise TypeError(f"contexts must be an iterable of functions event -> event; got {type(contexts).__name__}")
    found = list(contexts)
    for item in found:
        if not callable(item):
            raise TypeError(f"contexts must hold functions event -> event; {item!r} is not callable")
    return found


#: How many seeds mock_events tries per event asked before it says the schema has no more distinct events.
_TRIES_PER_EVENT = 20


def mock_events(
    n: int,
    registry: str | None = None,
    schema: str | EventSchema | None = None,
    version: str | int | None = None,
    *,
    schema_file: str | os.PathLike[str] | None = None,
    schema_text: str | Mapping[str, Any] | None = None,
    event_ref: str | None = None,
    skip_optional: bool = False,
    overrides: Mapping[str, Any] | None = None,
    contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | Callable[[dict[str, Any]], dict[str, Any]] = (),
    seed: int | None = None,
    boundary: bool = False,
    session: boto3.Session | None = None,
) -> list[dict[str, Any]]:
    """``n`` distinct events from one schema, varied as real traffic is (the schema is read once).

    Event ``i`` is :func:`mock_event` with seed ``seed + i`` (``seed=None``: a random start), so
    optional fields, array lengths, enum values, ``oneOf`` / ``anyOf`` branches, formats and numbers
    differ from one event to the next; a seed that repeats an event already made is skipped.

    ``boundary=True`` gives the edges the schema allows instead: even events take the least
    (``minimum``, ``minLength``, ``minItems``: empty arrays, no optional fields) and odd events the
    most (``maximum``, ``maxLength``, ``maxItems`` up to 50, every optional field); event ``i`` takes
    the ``i``-th enum value and ``oneOf`` / ``anyOf`` branch (wrapping), so ``n`` at least the longest
    enum shows every value.

    Args:
        n: How many events (at least 1).
        boundary: The edges mode above.
        seed: The first event's seed (None: drawn at random; the events are then not reproducible).
        registry, schema, version, schema_file, schema_text, event_ref, skip_optional, overrides,
            contexts, session: As for :func:`mock_event`.

    Returns:
        A list of ``n`` events, no two alike (the envelope ``id`` and ``time`` aside).

    Raises:
        ConfigError: ``n`` is not a positive integer, or as for :func:`mock_event`.
        SchemaError: As for :func:`mock_event`; or the schema allows fewer than ``n`` distinct events
            (a schema of consts and a boolean has two).
    """
    import random

    given: Any = n  # checked at run time: callers may not be typed
    if isinstance(given, bool) or not isinstance(given, int) or n < 1:
        raise ConfigError(f"mock_events needs n, a positive number of events; got {n!r}")
    _check_overrides(overrides)
    appliers = _context_list(contexts)
    loaded = load_schema(registry, schema, version, schema_file=schema_file, schema_text=schema_text, session=session)
    start = seed if seed is not None else random.SystemRandom().randrange(2**31)
    events: list[dict[str, Any]] = []
    seen: set[str] = set()
    offset = 0
    while len(events) < n:
        if offset >= n * _TRIES_PER_EVENT:
            raise SchemaError(
                f"{loaded.origin}: only {len(events)} distinct events found in {offset} tries, {n} asked; the "
                "schema allows few values (consts, enums, booleans). Ask for fewer, or widen the schema"
            )
        index = offset
        offset += 1
        edge = index if boundary and index < n else None
        event = _build(loaded, event_ref, skip_optional, overrides, appliers, start + index, edge, session)
        key = _identity(event)
        if key in seen:
            continue
        seen.add(key)
        events.append(event)
    return events


def _identity(event: Mapping[str, Any]) -> str:
    """What makes two events the same: everything but an envelope's id and time."""
    enveloped = "detail" in event and "id" in event
    shown = {k: v for k, v in event.items() if not (enveloped and k in ("id", "time"))}
    return json.dumps(shown, sort_keys=True, default=str)
