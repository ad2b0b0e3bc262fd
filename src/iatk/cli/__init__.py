"""The ``iatk`` command line: a thin adapter over the core, one module per command.

Exit codes: 0 ok, 1 failure (an iatk error, a failed deletion, a timeout), 2 usage (bad arguments or
settings: argparse's errors and every :class:`~iatk.exceptions.ConfigError`). Errors print the typed
error's message, never a traceback, with the pytest plugin's ``--iatk-*`` flags spelled as this
command's options.

The options that are iatk settings (``--backend``, ``--region``, ``--profile``, ``--endpoint-url``,
``--schema-dir``, ``--within``, ``--ttl``) come from the settings table the plugin uses too
(:mod:`._common`); each command then runs with those settings installed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError, IatkError

from ._common import INJECTED, cli_words, explicit_settings
from ._harness import add_cleanup, add_list
from ._mock_event import add_mock_event
from ._report import add_report
from ._serve import add_serve
from ._stack import add_delete, add_deploy, add_stack
from ._test_state import add_test_state
from ._trace import add_trace

if TYPE_CHECKING:
    import boto3

__all__ = ["COMMANDS", "build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

#: Each adds one subcommand (with ``handler`` set as its default).
COMMANDS: list[Callable[[Any], None]] = [
    add_stack,
    add_deploy,
    add_delete,
    add_list,
    add_cleanup,
    add_mock_event,
    add_test_state,
    add_trace,
    add_serve,
    add_report,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``iatk`` argument parser with every subcommand."""
    from iatk._aws import VERSION

    parser = argparse.ArgumentParser(
        prog="iatk", description="Integration test kit for deployed serverless AWS applications."
    )
    parser.add_argument("--version", action="version", version=f"iatk {VERSION}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, session: boto3.Session | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        session: A boto3 Session for every AWS call, instead of one built from ``--region``,
            ``--profile``, ``--endpoint-url`` and ``--backend`` (for tools that embed the CLI, and tests).

    A closed stdout (``iatk ... | head``) ends the command quietly with exit code 1, as Python's
    docs recommend, instead of a ``BrokenPipeError`` traceback.
    """
    try:
        code = _main(argv, session)
        sys.stdout.flush()  # here, so a closed pipe is seen now rather than at interpreter exit
    except BrokenPipeError:
        _stdout_to_devnull()
        return 1
    return code


def _main(argv: Sequence[str] | None, session: boto3.Session | None) -> int:
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    from iatk._config import override, resolve_settings

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exit_.code or 0)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    if session is not None:
        setattr(args, INJECTED, session)
    try:
        # The command runs with its settings installed, so the core reads the same ones it was given.
        with override(resolve_settings(explicit=explicit_settings(args))):
            return handler(args)
    except ConfigError as err:
        print(f"iatk: error: {cli_words(str(err))}", file=sys.stderr)
        return 2
    except IatkError as err:
        print(f"iatk: error: {cli_words(str(err))}", file=sys.stderr)
        return 1
    except ProfileNotFound as err:  # a bad --profile / AWS_PROFILE when the session layer does not wrap it
        print(f"iatk: error: {err}", file=sys.stderr)
        return 2
    except BotoCoreError as err:  # no credentials, no connection...: botocore's message, no traceback
        print(f"iatk: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("iatk: interrupted", file=sys.stderr)
        return 130


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real descriptor (captured output): nothing left to protect
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
