"""Settings, resolved in one place: explicit argument > CLI option > ini key > ``IATK_*`` env > default.

Every setting is declared once in :data:`SPECS`; the pytest plugin generates its options and ini keys
from that table, and the CLI and the core read the same table, so the three never drift apart.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any, Literal

from .exceptions import ConfigError

Backend = Literal["aws", "moto"]
BACKENDS: tuple[str, ...] = ("aws", "moto")

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object, *, name: str = "duration") -> float:
    """Seconds from a number or a text like ``90``, ``1.5s``, ``30m``, ``2h`` or ``1d``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a duration like 30, 30s, 5m or 2h; got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and (found := _DURATION_RE.match(value)):
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    else:
        raise ConfigError(f"{name}: expected a duration like 30, 30s, 5m or 2h; got {value!r}")
    if not math.isfinite(seconds):
        raise ConfigError(f"{name}: must be a finite number of seconds; got {value!r}")
    if seconds < 0:
        raise ConfigError(f"{name}: must not be negative; got {value!r}")
    return seconds


def parse_bool(value: object, *, name: str = "flag") -> bool:
    """A boolean from a bool or the usual words (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false; got {value!r}")


def _parse_backend(value: object, *, name: str = "backend") -> str:
    text = str(value).strip().lower()
    if text not in BACKENDS:
        raise ConfigError(f"{name}: expected one of {', '.join(BACKENDS)}; got {value!r}")
    return text


TRACE_SOURCES: tuple[str, ...] = ("auto", "xray", "transaction-search")


def _parse_trace_source(value: object, *, name: str = "trace_source") -> str:
    text = str(value).strip().lower().replace("_", "-")
    if text not in TRACE_SOURCES:
        raise ConfigError(f"{name}: expected one of {', '.join(TRACE_SOURCES)}; got {value!r}")
    return text


def _parse_str(value: object, *, name: str = "") -> str | None:
    text = str(value).strip()
    return text or None


def _parse_positive_int(value: object, *, name: str = "") -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number; got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name}: must be at least 1; got {value!r}")
    return number


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its name, parser, default and help (option, ini key and env var derive from the name)."""

    name: str
    parse: Callable[..., Any]
    default: Any
    help: str
    flag: bool = False

    @property
    def option(self) -> str:
        return "--iatk-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "iatk_" + self.name

    @property
    def env(self) -> str:
        return "IATK_" + self.name.upper()


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("backend", _parse_backend, "aws", "where AWS calls go: aws (real AWS) or moto (embedded server)"),
    SettingSpec("region", _parse_str, None, "AWS region (default: the boto3 chain; us-east-1 on moto)"),
    SettingSpec("profile", _parse_str, None, "AWS shared-config profile (ignored on moto)"),
    SettingSpec("endpoint_url", _parse_str, None, "send every AWS call to this endpoint (e.g. LocalStack)"),
    SettingSpec("stack", _parse_str, None, "default CloudFormation stack for iatk_stack()"),
    SettingSpec("sla", parse_duration, 30.0, "default wait for events, in seconds (or 500ms, 2m ...)"),
    SettingSpec("trace_timeout", parse_duration, 60.0, "default wait for a complete X-Ray trace, seconds"),
    SettingSpec(
        "trace_source",
        _parse_trace_source,
        "auto",
        "where traces are read: auto (the account's xray:GetTraceSegmentDestination), xray or transaction-search",
    ),
    SettingSpec("ttl", parse_duration, 7200.0, "expiry tagged on created resources (e.g. 2h)"),
    SettingSpec("keep", parse_bool, False, "keep harness resources after tests and print their ARNs", flag=True),
    SettingSpec("sweep", parse_bool, False, "remove expired harness resources at session start", flag=True),
    SettingSpec("buffer", _parse_positive_int, 1000, "events kept per listener (oldest dropped first)"),
    SettingSpec(
        "keep_env",
        parse_bool,
        False,
        "on moto, leave os.environ as it is (plain boto3 clients are then not pointed at the embedded server)",
        flag=True,
    ),
    SettingSpec(
        "schema_dir",
        _parse_str,
        None,
        "folder standing in for the Schema Registry on moto: <dir>/<registry>/<schema>.json (or .yaml)",
    ),
)
SPEC_BY_NAME: dict[str, SettingSpec] = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings of a run. Build with :func:`resolve_settings`."""

    backend: str = "aws"
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    stack: str | None = None
    sla: float = 30.0
    trace_timeout: float = 60.0
    #: ``auto``, ``xray`` or ``transaction-search`` (see iatk.trace's source choice).
    trace_source: str = "auto"
    ttl: float = 7200.0
    keep: bool = False
    sweep: bool = False
    buffer: int = 1000
    #: On moto, do not export the embedded server's endpoint and dummy credentials to ``os.environ``.
    keep_env: bool = False
    #: Schema files standing in for the Schema Registry on the embedded backend (relative: to the cwd).
    schema_dir: str | None = None
    #: Where each value came from (``argument``, ``option``, ``ini``, ``env`` or ``default``).
    sources: Mapping[str, str] | None = None

    @property
    def ttl_delta(self) -> timedelta:
        return timedelta(seconds=self.ttl)

    def with_overrides(self, **values: Any) -> Settings:
        """A copy with some settings replaced by explicit (parsed) values."""
        parsed = {name: _parse(name, value, "argument") for name, value in values.items()}
        sources = dict(self.sources or {})
        sources.update(dict.fromkeys(parsed, "argument"))
        return replace(self, **parsed, sources=sources)


def _parse(name: str, value: object, source: str) -> Any:
    spec = SPEC_BY_NAME.get(name)
    if spec is None:
        known = ", ".join(SPEC_BY_NAME)
        raise ConfigError(f"unknown iatk setting {name!r}; the settings are: {known}")
    try:
        return spec.parse(value, name=f"{name} (from {source})")
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} (from {source}): {err}") from err


def resolve_settings(
    *,
    explicit: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    ini: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: explicit > options > ini > env > default.

    ``None`` (and an empty string from ini) means "not given at this level".
    """
    env = os.environ if environ is None else environ
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("argument", explicit or {}),
        ("option", options or {}),
        ("ini", ini or {}),
        ("env", {spec.name: env[spec.env] for spec in SPECS if env.get(spec.env, "") != ""}),
    ]
    for source, layer in layers[:3]:
        for name in layer:
            if name not in SPEC_BY_NAME:
                _parse(name, None, source)  # raises the "unknown setting" error
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SPECS:
        for source, layer in layers:
            raw = layer.get(spec.name)
            if raw is None or (isinstance(raw, str) and raw == "" and source == "ini"):
                continue
            values[spec.name] = _parse(spec.name, raw, source)
            sources[spec.name] = source
            break
        else:
            values[spec.name] = spec.default
            sources[spec.name] = "default"
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known}, sources=sources)


# The settings the core uses when a call gets no session: set by the pytest plugin or by
# ``embedded_session``; otherwise resolved from the environment on first use.
_current: Settings | None = None


def current_settings() -> Settings:
    """The run's settings: those set by the plugin, else resolved from ``IATK_*`` env vars."""
    global _current  # noqa: PLW0603 - process-wide default, like boto3's default session
    if _current is None:
        _current = resolve_settings()
    return _current


def set_current_settings(settings: Settings | None) -> None:
    """Install (or clear, with None) the process-wide settings."""
    global _current  # noqa: PLW0603 - process-wide default, like boto3's default session
    _current = settings


@contextmanager
def override(settings: Settings | None) -> Iterator[Settings | None]:
    """Install ``settings`` as the process-wide settings for the block, then hand back what was there.

    What was there is the raw value: None when nothing was installed yet (so the block's end does not
    freeze settings resolved from the environment meanwhile). The pytest plugin holds one for the
    whole run (a nested in-process run, pytester's, gives the outer run its settings back) and one
    per test for ``@pytest.mark.iatk`` overrides.
    """
    global _current  # noqa: PLW0603 - process-wide default, like boto3's default session
    previous = _current
    _current = settings
    try:
        yield settings
    finally:
        _current = previous
