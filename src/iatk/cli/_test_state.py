"""``iatk test-state``: run one state of a deployed state machine and print the result."""

from __future__ import annotations

import argparse
import json
from typing import Any

from iatk.exceptions import ConfigError

from ._common import aws_options, json_argument, print_json, session


def add_test_state(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test-state",
        help="run one state of a deployed state machine (Step Functions TestState) and print the result",
        description="Run one state of a deployed state machine with an input (and a mock) through Step Functions "
        "TestState, or with --backend moto on moto's interpreter (iatk's offline emulation: moto has no TestState). "
        "Exit 0 when the state SUCCEEDED or its error was CAUGHT, 1 when it FAILED or is RETRIABLE or the test "
        "could not run, 2 on bad arguments.",
    )
    parser.add_argument("--state-machine", required=True, metavar="ARN", help="state machine ARN (or name)")
    parser.add_argument("--state", required=True, metavar="NAME", help="the state to run")
    parser.add_argument("--input", metavar="JSON", default="{}", help="the state's input, as JSON text (default: {})")
    parser.add_argument(
        "--mock",
        metavar="JSON",
        help='a mock for a Task, Map or Parallel: {"result": ...} or {"error": "...", "cause": "..."}',
    )
    parser.add_argument(
        "--inspection-level", default="DEBUG", choices=("INFO", "DEBUG", "TRACE"), help="default: DEBUG"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    aws_options(parser)
    parser.set_defaults(handler=run_test_state)


def run_test_state(args: argparse.Namespace) -> int:
    from iatk.states import test_state

    data = json_argument(args.input, "--input")
    mock = json_argument(args.mock, "--mock")
    if mock is not None and not isinstance(mock, dict):
        raise ConfigError(f"--mock must be a JSON object like '{{\"result\": {{...}}}}'; got {args.mock!r}")
    chosen = session(args)
    result = test_state(
        args.state_machine,
        args.state,
        json.dumps(data),  # JSON text, so a JSON string stays a string
        mock=mock,
        inspection_level=args.inspection_level,
        session=chosen,
    )
    if args.json:
        print_json(
            {
                "state": result.state,
                "stateType": result.state_type,
                "status": result.status,
                "nextState": result.next_state,
                "output": result.output,
                "error": result.error,
                "cause": result.cause,
                "inspection": dict(result.inspection.stages()),
                "offline": result.offline,
            }
        )
    else:
        print(result.render())
    return 0 if result.status in ("SUCCEEDED", "CAUGHT_ERROR") else 1
