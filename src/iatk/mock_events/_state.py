"""One event's generation state: random streams, refs being expanded, node locations; its errors."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from iatk._json import resolve_pointer
from iatk.exceptions import SchemaError

from ._check import _Checker, _is_modern
from ._schema import EventSchema

_MISSING: Any = object()


class _Recursion(Exception):
    """A recursive ``$ref`` hit the limit; whoever can leave the value out catches it."""

    def __init__(self, ref: str, pointer: str, path: str) -> None:
        super().__init__(ref)
        self.ref = ref
        self.pointer = pointer
        self.path = path


class _GeneratorBase:
    """One event's generation: the rng, the refs being expanded, and where merged nodes came from.

    The state and the lookups every part of the generator uses (its errors, ``$ref``, the random
    stream of each event path); :class:`~._generate._Generator` is the whole generator.
    """

    def __init__(self, schema: EventSchema, *, seed: int | None, skip_optional: bool, edge: int | None = None) -> None:
        self.schema = schema
        self.document = schema.document
        self.seed = 0 if seed is None else seed
        #: the envelope's id and time also depend on the schema, so two schemas with one seed differ there
        #: (the fields' streams do not: a change elsewhere in a schema leaves a field's value as it was)
        self.digest = _digest(schema)
        self.salt = ""  # changed while a value is drawn again (its check failed): new streams below it
        self.rng = random.Random(f"{self.seed}|$")
        self.fresh = seed is None
        #: a seed draws every choice (optional fields, lengths, enum values, branches); None: the first
        self.vary = seed is not None
        #: boundary mode: event number ``edge`` takes the edges (even: the least, odd: the most)
        self.edge = edge
        self.skip_optional = skip_optional
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.active: list[str] = []
        self.where: dict[int, str] = {}
        self.depth = 0
        self.checker = _Checker(schema.document, openapi=schema.is_openapi)
        self.modern = _is_modern(schema.document)

    @property
    def drawn(self) -> bool:
        """Whether choices are drawn at random here: with a seed, or while drawing a value again."""
        return self.vary or bool(self.salt)

    @contextmanager
    def salted(self, attempt: int, path: str) -> Iterator[None]:
        """Draw again: from attempt 1 on, every random stream under ``path`` is a new one."""
        if not attempt:
            yield
            return
        saved = self.salt
        self.salt = f"{saved}~{attempt}@{path}"
        try:
            yield
        finally:
            self.salt = saved

    # -- errors and lookups

    def error(self, pointer: str, path: str, message: str) -> SchemaError:
        return SchemaError(f"{self.schema.origin}: {message} (schema {pointer}, event path {path})")

    def unsupported(self, pointer: str, path: str, what: str) -> SchemaError:
        return self.error(
            pointer,
            path,
            f"{what} is not supported by the mock event generator; add an `example` to that schema node, "
            "or pass overrides= with a value for that event path",
        )

    def locate(self, node: Any, fallback: str) -> str:
        return self.where.get(id(node), fallback)

    def deref(self, ref: Any, pointer: str, path: str) -> tuple[str, Any]:
        if not isinstance(ref, str):
            raise self.error(pointer, path, f"$ref must be a string, found {ref!r}")
        if not (ref == "#" or ref.startswith("#/")):
            raise self.unsupported(f"{pointer}/$ref", path, f"$ref {ref!r} (another document or an anchor)")
        try:
            return ref, resolve_pointer(self.document, ref)
        except KeyError:
            raise self.error(
                pointer, path, f"$ref {ref!r} points nowhere; {self.schema._components_text(ref)}"
            ) from None

    @contextmanager
    def stream(self, key: str) -> Iterator[None]:
        """A random stream of its own for each event path: values elsewhere do not depend on this one."""
        saved = self.rng
        self.rng = random.Random(f"{self.seed}|{self.salt}|{key}" if self.salt else f"{self.seed}|{key}")
        try:
            yield
        finally:
            self.rng = saved


_digests: dict[int, tuple[Any, str]] = {}


def _digest(schema: EventSchema) -> str:
    """A short digest of the schema document (cached per document object)."""
    held = _digests.get(id(schema.document))
    if held is not None and held[0] is schema.document:
        return held[1]
    text = json.dumps(schema.document, sort_keys=True, default=str)
    value = hashlib.sha256(text.encode()).hexdigest()[:12]
    if len(_digests) > 256:
        _digests.clear()
    _digests[id(schema.document)] = (schema.document, value)
    return value
