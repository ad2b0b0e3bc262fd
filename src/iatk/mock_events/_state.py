"""One event's generation state: random streams, refs being expanded, node locations; its errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from iatk.exceptions import SchemaError

from ._schema import EventSchema, _resolve_pointer

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

    def __init__(self, schema: EventSchema, *, seed: int | None, skip_optional: bool) -> None:
        self.schema = schema
        self.document = schema.document
        self.seed = 0 if seed is None else seed
        self.rng = random.Random(f"{self.seed}|$")
        self.fresh = seed is None
        self.skip_optional = skip_optional
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.active: list[str] = []
        self.where: dict[int, str] = {}
        self.depth = 0

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
            return ref, _resolve_pointer(self.document, ref)
        except KeyError:
            raise self.error(
                pointer, path, f"$ref {ref!r} points nowhere; {self.schema._components_text(ref)}"
            ) from None

    @contextmanager
    def stream(self, key: str) -> Iterator[None]:
        """A random stream of its own for each event path: values elsewhere do not depend on this one."""
        saved = self.rng
        self.rng = random.Random(f"{self.seed}|{key}")
        try:
            yield
        finally:
            self.rng = saved
