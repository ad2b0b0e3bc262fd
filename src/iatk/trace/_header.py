"""Trace headers: :class:`TraceHeader` (parse, canonical text) and :func:`new_trace_header`.

The text and the fresh ids come from aws-xray-sdk's model classes, loaded without the SDK's
recorder (see :func:`_xray_sdk_types`).
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, overload

from iatk.exceptions import ConfigError, TraceError

_TRACE_ID_RE = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_W3C_ID_RE = re.compile(r"[0-9a-fA-F]{32}")
#: W3C Trace Context ``traceparent``: version, 32-hex trace id, 16-hex parent (span) id, 2-hex flags.
#: Version 00 has exactly four fields; a later version may add fields after the flags (kept out).
_TRACEPARENT_RE = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_SPAN_ID_RE = re.compile(r"[0-9a-fA-F]{16}")


def _xray_sdk_types() -> tuple[Any, Any]:
    """aws-xray-sdk's ``TraceId`` and ``TraceHeader`` classes.

    Importing ``aws_xray_sdk.core`` runs its package ``__init__``, which builds the SDK's global
    recorder: about 300 ms and a UDP socket that is never closed. The two model modules only need
    the standard library, so they are loaded from their files; a normal import is the fallback
    (and is used as-is when the application already imported the SDK).
    """
    if not _XRAY_TYPES:
        modules = [sys.modules.get(f"aws_xray_sdk.core.models.{name}") for name in ("traceid", "trace_header")]
        if None in modules:
            try:
                modules = [_load_xray_module("traceid"), _load_xray_module("trace_header")]
            except (ImportError, OSError, AttributeError, TypeError):
                from aws_xray_sdk.core.models import trace_header, traceid

                modules = [traceid, trace_header]
        _XRAY_TYPES.append((getattr(modules[0], "TraceId"), getattr(modules[1], "TraceHeader")))  # noqa: B009
    return _XRAY_TYPES[0]


_XRAY_TYPES: list[tuple[Any, Any]] = []


def _load_xray_module(name: str) -> ModuleType:
    spec = importlib.util.find_spec("aws_xray_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("aws_xray_sdk is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "core" / "models" / f"{name}.py"
    module_spec = importlib.util.spec_from_file_location(f"iatk._xray_{name}", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _check_trace_id(value: str, source: str) -> str:
    if _TRACE_ID_RE.fullmatch(str(value)):
        return value
    raise TraceError(
        f"not an X-Ray trace id: {value!r} (in {source!r}); expected 1-<8 hex digits>-<24 hex digits>, "
        "e.g. 1-5759e988-bd862e3fe1be46a994272793, or a header like Root=1-...;Sampled=1"
    )


class TraceHeader(str):
    """An ``X-Amzn-Trace-Id`` header value, in canonical form: ``Root=1-…[;Parent=…][;Sampled=1]``.

    It is a ``str``, so it goes wherever a header string goes (``traceHeader=header`` on
    ``StartExecution``, ``get_trace_tree(header)``), and it is immutable. Build one with
    :func:`new_trace_header` or :meth:`parse`; the text is rendered by aws-xray-sdk's ``TraceHeader``.

    Attributes:
        root: The trace id (``1-<8 hex epoch>-<24 hex>``).
        parent: The parent segment id, or None.
        sampled: True (``Sampled=1``), False (``Sampled=0``) or None (no decision; the service decides).
    """

    __slots__ = ()

    def __new__(cls, root: str, sampled: bool | None = True, parent: str | None = None) -> TraceHeader:
        if "=" in str(root):
            raise TraceError(f"TraceHeader() takes a trace id; read a header string with TraceHeader.parse({root!r})")
        _check_trace_id(root, root)
        if parent is not None and not re.fullmatch(r"[0-9a-fA-F]{16}", parent):
            raise TraceError(f"not an X-Ray segment id: Parent={parent!r}; expected 16 hex digits")
        sdk_header = _xray_sdk_types()[1]
        text = sdk_header(root=root, parent=parent, sampled=sampled).to_header_str()
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, text: str) -> TraceHeader:
        """Read a header string or a bare trace id.

        Keys are case-insensitive (Lambda returns ``root=…;parent=…;sampled=1``); ``Self=`` (added by
        load balancers) and other keys such as ``Lineage=`` are dropped. A W3C trace id (32 hex
        digits) is accepted and turned into X-Ray form, and so is a W3C ``traceparent``
        (:meth:`from_traceparent`). A bare trace id means ``Sampled=1``.

        Args:
            text: ``Root=1-…;Parent=…;Sampled=1``, ``root=1-…``, ``1-5759e988-bd862e3fe1be46a994272793``
                or ``00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01``.

        Returns:
            The header in canonical form.

        Raises:
            TraceError: The text is empty, has no Root, has a part with no ``=``, or the id is not an
                X-Ray trace id. Raised before any AWS call.
        """
        if not isinstance(text, str):
            raise TraceError(f"expected a trace id or an X-Amzn-Trace-Id header string, got {type(text).__name__}")
        if isinstance(text, TraceHeader):
            return text
        stripped = text.strip()
        if not stripped:
            raise TraceError("empty trace header: pass a trace id (1-…) or a header like Root=1-…;Sampled=1")
        if _TRACE_ID_RE.fullmatch(stripped):
            return cls(stripped, True)
        if _W3C_ID_RE.fullmatch(stripped):
            return cls(f"1-{stripped[:8]}-{stripped[8:]}", True)
        if stripped[:3].lower() == "00-" or _TRACEPARENT_RE.fullmatch(stripped.lower()):
            return cls.from_traceparent(stripped)
        if "=" not in stripped:
            _check_trace_id(stripped, text)
        values: dict[str, str] = {}
        for raw_part in stripped.split(";"):
            part = raw_part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise TraceError(f"trace header part {part!r} has no '=' in {text!r}; expected Root=1-…;Sampled=1")
            values.setdefault(key.strip().lower(), value.strip())
        root = values.get("root")
        if not root:
            what = "an empty Root=" if "root" in values else "no Root="
            raise TraceError(f"trace header {text!r} has {what}; expected Root=1-…;Sampled=1 or a bare trace id")
        _check_trace_id(root, text)
        sampled = {"1": True, "0": False}.get(values.get("sampled", ""))
        return cls(root, sampled, values.get("parent") or None)

    @classmethod
    def from_traceparent(cls, text: str) -> TraceHeader:
        """Read a W3C Trace Context ``traceparent``: ``00-<32 hex trace id>-<16 hex parent id>-<flags>``.

        The trace id maps to X-Ray's as AWS maps it (the first 8 hex digits after ``1-``, the other
        24 after the second dash), the parent id is kept as ``Parent=``, and the ``sampled`` flag
        (bit 0 of the flags) gives ``Sampled=1`` or ``Sampled=0``.

        Raises:
            TraceError: Not a ``traceparent``: wrong field sizes, non-hex digits,
                version ``ff``, an all-zero trace or parent id, or extra fields on version 00.
        """
        raw = str(text).strip().lower()  # W3C writes lower-case; an upper-case copy is read the same
        found = _TRACEPARENT_RE.fullmatch(raw)
        expected = "expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>"
        if found is None:
            raise TraceError(f"not a W3C traceparent: {text!r}; {expected}")
        version, trace_id, parent, flags, rest = found.groups()
        if version == "ff" or (version == "00" and rest):
            raise TraceError(f"not a W3C traceparent: {text!r} (version {version}); {expected}")
        if trace_id == "0" * 32 or parent == "0" * 16:
            raise TraceError(f"not a W3C traceparent: {text!r} (an all-zero id is invalid); {expected}")
        return cls(f"1-{trace_id[:8]}-{trace_id[8:]}", bool(int(flags, 16) & 1), parent)

    @classmethod
    def from_span_context(cls, context: Any) -> TraceHeader:
        """The header of an OpenTelemetry ``SpanContext`` (or of a span: its ``get_span_context()``).

        Read by duck typing (``trace_id`` and ``span_id`` integers, ``trace_flags``), so the
        OpenTelemetry API need not be installed to import iatk.

        Raises:
            TraceError: The object has no integer ``trace_id`` / ``span_id``, or they are 0 (invalid).
        """
        getter = getattr(context, "get_span_context", None)
        if callable(getter) and not hasattr(context, "trace_id"):
            context = getter()
        trace_id, span_id = getattr(context, "trace_id", None), getattr(context, "span_id", None)
        if type(trace_id) is not int or type(span_id) is not int:
            raise TraceError(
                f"expected an OpenTelemetry SpanContext (integer trace_id and span_id), got {type(context).__name__}"
            )
        if not 0 < trace_id < 1 << 128 or not 0 < span_id < 1 << 64:
            raise TraceError("that SpanContext is invalid (trace_id or span_id is 0): no span was recording")
        flags = int(getattr(context, "trace_flags", 1) or 0)
        hex_id = f"{trace_id:032x}"
        return cls(f"1-{hex_id[:8]}-{hex_id[8:]}", bool(flags & 1), f"{span_id:016x}")

    @property
    def w3c_trace_id(self) -> str:
        """The trace id in W3C form: 32 hex digits (the X-Ray id without ``1-`` and the dash)."""
        root = self.root
        return root[2:10] + root[11:]

    def to_traceparent(self, span_id: str | None = None) -> str:
        """This header as a W3C ``traceparent`` (``00-<trace id>-<parent id>-<flags>``).

        Args:
            span_id: The parent id to send (16 hex digits). Default: the header's ``Parent``, and,
                when it has none, a fresh random id (a ``traceparent`` must name a parent).

        Returns:
            The text; flags are ``01`` unless the header says ``Sampled=0``.
        """
        parent = span_id if span_id is not None else self.parent
        if parent is None:
            parent = secrets.token_hex(8)
        if not _SPAN_ID_RE.fullmatch(parent) or parent == "0" * 16:
            raise TraceError(f"not a span id: {parent!r}; expected 16 hex digits, not all zero")
        flags = "00" if self.sampled is False else "01"
        return f"00-{self.w3c_trace_id.lower()}-{parent.lower()}-{flags}"

    @property
    def traceparent(self) -> str | None:
        """The W3C ``traceparent`` of this header when it names a parent (else None: see :meth:`to_traceparent`)."""
        return self.to_traceparent() if self.parent else None

    def _part(self, key: str) -> str | None:
        for part in str.split(self, ";"):
            name, _, value = part.partition("=")
            if name == key:
                return value
        return None

    @property
    def root(self) -> str:
        """The trace id."""
        return self._part("Root") or ""

    @property
    def parent(self) -> str | None:
        """The parent segment id, if the header names one."""
        return self._part("Parent")

    @property
    def sampled(self) -> bool | None:
        """The sampling decision: True, False, or None when the header leaves it to the service."""
        return {"1": True, "0": False}.get(self._part("Sampled") or "")

    def __repr__(self) -> str:
        return f"TraceHeader({str.__str__(self)!r})"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (TraceHeader.parse, (str.__str__(self),))


@overload
def new_trace_header(sampled: bool = True, *, form: Literal["xray"] = "xray") -> TraceHeader: ...


@overload
def new_trace_header(sampled: bool = True, *, form: Literal["traceparent"]) -> str: ...


def new_trace_header(sampled: bool = True, *, form: Literal["xray", "traceparent"] = "xray") -> TraceHeader | str:
    """A new trace header with a fresh trace id, ``Root=1-<8 hex epoch>-<24 hex>;Sampled=1``.

    The id comes from aws-xray-sdk's ``TraceId`` (current time + 96 random bits): its first 8 hex
    digits are the epoch second, which both X-Ray and Transaction Search can use. Send it with
    :func:`trace_client`, or pass it where an API takes a trace header (``StartExecution``'s
    ``traceHeader``).

    Args:
        sampled: Ask X-Ray to record the trace (``Sampled=1``); False sends ``Sampled=0``.
        form: ``"xray"`` (default) gives a :class:`TraceHeader`; ``"traceparent"`` gives the same
            kind of fresh trace as a W3C ``traceparent`` string (``00-<32 hex>-<16 hex>-01``) with a
            random parent id, for code instrumented with OpenTelemetry. ``TraceHeader.parse`` reads
            it back, and ``get_trace_tree`` takes either.

    Returns:
        The header (``.root`` is the trace id), or the ``traceparent`` text.
    """
    if not isinstance(sampled, bool):
        raise ConfigError(f"sampled: expected True or False, got {sampled!r}")
    if form not in ("xray", "traceparent"):
        raise ConfigError(f"form: expected 'xray' or 'traceparent', got {form!r}")
    trace_id_type = _xray_sdk_types()[0]
    header = TraceHeader(trace_id_type().to_id(), sampled)
    return header.to_traceparent() if form == "traceparent" else header
