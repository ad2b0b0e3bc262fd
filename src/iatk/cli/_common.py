"""What the commands share: the settings table as options, the session, output (JSON, tables, progress).

Every option that is an iatk setting is made from :data:`iatk._config.SPECS` (the table the pytest
plugin makes its ``--iatk-*`` options from), so a command's ``--region``, ``--schema-dir`` or
``--within`` has the same meaning, default, environment variable and validation as the plugin's.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from iatk._config import BACKENDS, SPEC_BY_NAME
from iatk.exceptions import ConfigError

#: The Namespace attribute that carries a session given to :func:`iatk.cli.main` (used instead of the options).
INJECTED = "_iatk_session"


@dataclass(frozen=True)
class CliSetting:
    """How the CLI spells one setting of the table: its flags (the first is the name in messages)."""

    name: str
    flags: tuple[str, ...]

    @property
    def dest(self) -> str:
        return self.name


#: The CLI's flags for the settings; the pytest plugin's are ``--iatk-<name>``. Only the settings a
#: one-shot command can use are here (sla, keep, sweep and buffer belong to a test run).
CLI_SETTINGS: dict[str, CliSetting] = {
    setting.name: setting
    for setting in (
        CliSetting("backend", ("--backend",)),
        CliSetting("region", ("--region",)),
        CliSetting("profile", ("--profile",)),
        CliSetting("endpoint_url", ("--endpoint-url",)),
        CliSetting("schema_dir", ("--schema-dir",)),
        CliSetting("trace_timeout", ("--within", "--trace-timeout")),
        CliSetting("ttl", ("--ttl",)),
    )
}


def add_setting(
    parser: argparse.ArgumentParser | Any, name: str, *, extra_help: str = "", **argparse_options: Any
) -> None:
    """Add the option for setting ``name``, with the table's help, default and environment variable."""
    spec = SPEC_BY_NAME[name]
    cli = CLI_SETTINGS[name]
    default = (
        "the boto3 chain" if spec.default is None else f"{spec.default:g}" if _is_number(spec.default) else spec.default
    )
    text = f"{spec.help}{extra_help} (default: {spec.env}, else {default})"
    if name == "backend":
        argparse_options.setdefault("choices", BACKENDS)
    parser.add_argument(*cli.flags, dest=cli.dest, default=None, help=text, **argparse_options)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def aws_options(parser: argparse.ArgumentParser, *, multi_region: bool = False) -> None:
    """--backend, --region, --profile and --endpoint-url, as every AWS-facing command takes them."""
    group = parser.add_argument_group("AWS (the same settings as pytest's --iatk-*)")
    add_setting(
        group,
        "backend",
        extra_help="; moto: the server `iatk serve` runs (or the one at --endpoint-url), used as the embedded "
        "backend is (dummy credentials, no retries, Step Functions states on moto's interpreter)",
    )
    if multi_region:
        add_setting(group, "region", action="append", extra_help="; repeat for several")
    else:
        add_setting(group, "region")
    add_setting(group, "profile")
    add_setting(group, "endpoint_url")


def explicit_settings(args: argparse.Namespace, region: str | None = None) -> dict[str, Any]:
    """The settings given on the command line (None: not given), for ``resolve_settings(explicit=...)``."""
    values: dict[str, Any] = {}
    for name in CLI_SETTINGS:
        value = getattr(args, name, None)
        if name == "region":
            value = region if region is not None else value
            if isinstance(value, list):
                value = value[0] if value else None
        if value is not None:
            values[name] = value
    return values


def session(args: argparse.Namespace, region: str | None = None) -> Any:
    """The command's boto3 Session: the one given to :func:`~iatk.cli.main`, else one from its options.

    Options win over ``IATK_*`` env vars (then boto3's own ``AWS_*`` chain). ``--backend moto``
    gives an embedded-backend session for the server at ``--endpoint-url``, else for the one
    ``iatk serve`` runs: a one-shot command does not start a server of its own, since a new server
    would hold none of the resources it asks about.
    """
    injected = getattr(args, INJECTED, None)
    if injected is not None:
        return injected
    from iatk._aws import embedded_boto_session, session_from_settings
    from iatk._config import resolve_settings

    from ._served import served_url

    settings = resolve_settings(explicit=explicit_settings(args, region))
    if settings.backend == "moto":
        url = settings.endpoint_url or served_url()
        if not url:
            raise ConfigError(
                "--backend moto needs a running embedded backend: start one with `iatk serve` (in another "
                "shell; the commands find it), or give a moto server's URL with --endpoint-url (or "
                "IATK_ENDPOINT_URL), e.g. http://127.0.0.1:5000 for `moto_server`. iatk does not start one "
                "for a single command: it would be empty"
            )
        return embedded_boto_session(url, settings.region)
    return session_from_settings(settings)


def resolved(args: argparse.Namespace, name: str) -> Any:
    """One setting's value as this command sees it: its option, else ``IATK_*``, else the table's default."""
    from iatk._config import resolve_settings

    value = getattr(args, name, None)
    return getattr(resolve_settings(explicit={name: value} if value is not None else {}), name)


# -- words: the CLI's flags in the core's messages --------------------------------------------------
_PLUGIN_FLAG = re.compile(r"--iatk-([a-z][a-z-]*)")
#: Settings with no flag in the CLI, spelled as what stands in for them.
_NO_FLAG = {"stack": "the stack NAME argument"}


def cli_words(message: str) -> str:
    """A core message with the pytest plugin's ``--iatk-x`` flags spelled as the CLI's (or their env var)."""

    def spell(found: re.Match[str]) -> str:
        name = found.group(1).replace("-", "_")
        if name in CLI_SETTINGS:
            return CLI_SETTINGS[name].flags[0]
        if name in _NO_FLAG:
            return _NO_FLAG[name]
        spec = SPEC_BY_NAME.get(name)
        return spec.env if spec is not None else found.group(0)

    return _PLUGIN_FLAG.sub(spell, message)


# -- output ---------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    """JSON for what json cannot encode: datetimes as RFC 3339 (``isoformat``), the rest as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=_json_default))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def json_argument(text: str | None, option: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{option} must be JSON text ({err}); got {text!r}") from err


def key_values(items: Iterable[str], option: str) -> dict[str, str]:
    """``K=V`` arguments as a dict (a ConfigError names the bad one)."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise ConfigError(f"{option} expects K=V; got {item!r}")
        found[key] = value
    return found


class ProgressLine:
    """Progress of a long command on a terminal: one line on stderr, rewritten in place.

    Nothing at all when stderr is not a terminal or the command prints ``--json`` (the output is
    then for a program, and a log gets no carriage returns).
    """

    def __init__(self, command: str, *, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and _isatty(self.stream)
        self.shown = False

    def show(self, done: int, total: int, current: str) -> None:
        if not self.enabled:
            return
        self.stream.write(f"\r\033[K{self.command}: {done}/{total} {current}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
