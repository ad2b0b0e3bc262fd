"""Mock EventBridge events generated from schemas (Schema Registry, a local file, or a string).

:func:`mock_event` reads an OpenAPI 3 schema (the form of AWS's and the registry's discovered
schemas) or a JSON Schema (draft 4, tolerating later keywords such as ``const``), picks the event
root, and builds an event that validates against that schema.

How a value is chosen, for each schema node:

1. ``$ref`` (local only: ``#/components/schemas/...``, ``#/definitions/...``) is followed.
   Recursion is cut after :data:`RECURSION_LIMIT` visits of one schema on a path: an optional
   property, a nullable value, an array past its ``minItems`` or a later ``oneOf`` branch ends it;
   a required chain that cannot end raises :class:`~iatk.exceptions.SchemaError`.
2. ``allOf`` branches are merged (properties and ``required`` unioned, bounds tightened, both
   ``pattern`` s and ``multipleOf`` s kept); ``oneOf`` / ``anyOf`` take a branch that can end (the
   first without a seed, a drawn one with a seed); ``not`` and ``if`` / ``then`` / ``else`` are met
   by checking and drawing again.
3. ``example``, then ``examples``, then ``default`` when valid for the node, then an ``enum`` value
   the node's other keywords allow, then ``const``.
4. Otherwise by type (the first non-null one of a type list; ``nullable`` values are generated,
   not null). A node without a type is typed by its keywords (``properties`` → object, ``items``
   → array, ``pattern`` → string, ``minimum`` → number...) and is an empty object ``{}`` when
   nothing hints at a type.

   - string: formats date-time, date, time, email, uuid, uri, hostname, ipv4, ipv6, byte; a
     ``pattern`` made of common regex syntax; ``minLength`` / ``maxLength``. Plain strings read
     ``"<property name>-<4 chars>"``.
   - integer / number: inside ``minimum`` / ``maximum`` (draft 4 boolean or draft 6 numeric
     ``exclusive*``) and ``multipleOf``; 0–100 when unbounded.
   - boolean, null.
   - array: ``max(minItems, 1)`` items when ``items`` is given, else ``minItems`` (always capped by
     ``maxItems``); ``items`` as a schema or a tuple, ``prefixItems``, ``uniqueItems``, ``contains``.
   - object: required properties always; optional ones unless ``skip_optional``; a map
     (``additionalProperties`` schema and no ``properties``) gets one ``additionalProp1`` entry;
     ``minProperties`` / ``maxProperties`` and list-form ``dependencies`` are honoured.

Every value is checked against its schema node (:mod:`._check`) and the whole event against the
root; what misses is drawn again on new random streams, and what cannot be met raises
:class:`~iatk.exceptions.SchemaError` naming the keyword and its JSON pointer.

Determinism: a given ``seed`` gives the same event every time, dates included (within 2024), and
draws every choice (optional fields, array lengths, enum values, branches). Each event path has its
own random stream, so overrides, ``skip_optional`` or a change elsewhere in the schema leave the
other values as they were; the envelope's ``id`` and ``time`` also depend on the schema. With
``seed=None`` every choice is the first one, date/time formats are *now* and uuids (and the
envelope ``id``) are fresh, so two events never share an id. :func:`mock_events` gives ``n``
distinct events (or the schema's edges, ``boundary=True``); :func:`strategy` a Hypothesis strategy.

Offline: the embedded moto backend has no Schema Registry. Set ``schema_dir``
(``--iatk-schema-dir``) and ``registry=`` + ``schema=`` read ``<dir>/<registry>/<schema>.json``
(or ``.yaml``, ``.yml``; ``<dir>/<registry>/<schema>/<version>.json`` for one version) instead, so
code written against the registry runs unchanged offline (see :func:`load_schema`).

Unsupported (raise ``SchemaError`` naming the JSON pointer): schema-form ``dependencies``,
``$dynamicRef`` / ``$recursiveRef``, ``$ref`` to another document or
to an anchor, and patterns using lookaround, backreferences or inline flags. A node with an
``example`` is never looked at further, so adding one (or an override for that path) is the way
around any of them.
"""

from __future__ import annotations

from ._envelope import (
    DEFAULT_ACCOUNT,
    DEFAULT_DETAIL_TYPE,
    DEFAULT_SOURCE,
    eventbridge_envelope,
    merge_overrides as merge_overrides,
    seeded_envelope as seeded_envelope,
    to_put_events_entry,
)
from ._generate import RECURSION_LIMIT
from ._jsonschema import to_json_schema
from ._load import clear_schema_cache, load_schema
from ._mock import mock_event, mock_events
from ._schema import JSON_SCHEMA_DRAFT4 as JSON_SCHEMA_DRAFT4, OPENAPI3 as OPENAPI3, EventSchema
from ._strategy import strategy

# Importable too, not in __all__ (the `as` re-exports above): EventSchema.type's two values, and for
# iatk's CLI how overrides= deep-merges (merge_overrides) and the envelope of --envelope --seed N
# (seeded_envelope).
__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_DETAIL_TYPE",
    "DEFAULT_SOURCE",
    "RECURSION_LIMIT",
    "EventSchema",
    "clear_schema_cache",
    "eventbridge_envelope",
    "load_schema",
    "mock_event",
    "mock_events",
    "strategy",
    "to_json_schema",
    "to_put_events_entry",
]
