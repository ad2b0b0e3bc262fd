"""Hypothesis strategies of mock events: :func:`strategy` draws valid events of a schema for ``@given``.

Built on iatk's own generator rather than on a JSON Schema strategy library: the events are the same
as :func:`~._mock.mock_event`'s (OpenAPI 3.0 ``nullable``, 2020-12, ECMA patterns, real-looking
formats and envelope values, ``overrides`` and ``contexts``), each is checked against its schema,
and every schema the generator reads works here too. Hypothesis draws the seed and whether the event
takes the schema's edges (the ``boundary`` mode of :func:`~._mock.mock_events`, on one of the first
64 edge patterns); a failing example shrinks to seed 0 without edges, the plainest event.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError

from ._load import load_schema
from ._mock import _build, _context_list
from ._schema import EventSchema

if TYPE_CHECKING:
    import boto3
    from hypothesis.strategies import SearchStrategy

_MAX_SEED = 2**32 - 1
_EDGES = 64


def strategy(
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
    session: boto3.Session | None = None,
) -> SearchStrategy[dict[str, Any]]:
    """A Hypothesis strategy of events valid for a schema (the arguments of :func:`~._mock.mock_event`).

    Example::

        from hypothesis import given, settings
        from iatk.mock_events import strategy

        @settings(max_examples=25, deadline=None)
        @given(event=strategy(schema_file="schemas/order_placed.json"))
        def test_rule_routes_every_order(event, listener):
            iatk.put_events(iatk.eventbridge_envelope(event, "app.orders", "OrderPlaced"), bus=listener.bus)
            listener.wait_for(iatk.match(detail_type="OrderPlaced"), timeout=10)

    The schema is read, and one event generated, when the strategy is made, so a schema iatk cannot
    generate from fails there, not inside Hypothesis.

    Raises:
        ConfigError: Hypothesis is not installed (``pip install 'iatk[hypothesis]'``), or as for
            :func:`~._mock.mock_event`.
        SchemaError: As for :func:`~._mock.mock_event`.
    """
    try:
        from hypothesis import strategies as st
    except ImportError:
        raise ConfigError(
            "iatk.mock_events.strategy needs Hypothesis: pip install 'iatk[hypothesis]' (or hypothesis)"
        ) from None
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"overrides must be a mapping (dict) deep-merged onto the event; got {type(overrides).__name__}"
        )
    appliers = _context_list(contexts)
    loaded = load_schema(registry, schema, version, schema_file=schema_file, schema_text=schema_text, session=session)
    _build(loaded, event_ref, skip_optional, overrides, appliers, 0, None, session)  # fail early, here

    def draw(seed: int, edge: int | None) -> dict[str, Any]:
        return _build(loaded, event_ref, skip_optional, overrides, appliers, seed, edge, session)

    edges = st.one_of(st.none(), st.integers(min_value=0, max_value=_EDGES - 1))
    return st.builds(draw, st.integers(min_value=0, max_value=_MAX_SEED), edges)
