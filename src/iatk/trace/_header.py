"""Trace headers: :class:`TraceHeader` (parse, canonical text) and :func:`new_trace_header`.

The text and the fresh ids come from aws-xray-sdk's model classes, loaded without the SDK's
recorder (see :func:`_xray_sdk_types`).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from iatk.exceptions import ConfigError, TraceError

_TRACE_ID_RE = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_W3C_ID_RE = re.compile(r"[0-9a-fA-F]{32}")


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
        digits) is accepted and turned into X-Ray form. A bare trace id means ``Sampled=1``.

        Args:
            text: ``Root=1-…;Parent=…;Sampled=1``, ``root=1-…``, or ``1-5759e988-bd862e3fe1be46a994272793``.

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


def new_trace_header(sampled: bool = True) -> TraceHeader:
    """A new trace header with a fresh trace id, ``Root=1-<8 hex epoch>-<24 hex>;Sampled=1``.

    The id comes from aws-xray-sdk's ``TraceId`` (current time + 96 random bits). Send it with
    :func:`trace_client`, or pass it where an API takes a trace header (``StartExecution``'s
    ``traceHeader``).

    Args:
        sampled: Ask X-Ray to record the trace (``Sampled=1``); False sends ``Sampled=0``.

    Returns:
        The header; ``.root`` is the trace id.
    """
    if not isinstance(sampled, bool):
        raise ConfigError(f"sampled: expected True or False, got {sampled!r}")
    trace_id_type = _xray_sdk_types()[0]
    return TraceHeader(trace_id_type().to_id(), sampled)
