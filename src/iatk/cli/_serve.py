"""``iatk serve``: the embedded backend as a long-running local endpoint, until Ctrl-C or SIGTERM.

It is :class:`iatk.EmbeddedBackend`, as ``--iatk-backend=moto`` starts it for a pytest run (moto's
server, executable state machines, the X-Ray relay and the fix-ups), in the foreground. Other
``iatk`` commands given ``--backend moto`` find it; other languages' suites use the endpoint and
the printed variables as they would a moto server's.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ._common import add_setting, resolved


def add_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded moto backend as a local endpoint; print its URL and the variables to export",
        description="Start the embedded backend (moto's server with executable state machines, the X-Ray relay and "
        "iatk's fix-ups) on 127.0.0.1, print its URL and the environment variables that point AWS SDKs at it, and "
        "serve until Ctrl-C or SIGTERM, then stop cleanly (exit 0). `iatk ... --backend moto` finds it.",
    )
    add_setting(parser, "region", extra_help="; the region of the printed variables (default us-east-1)")
    parser.add_argument(
        "--env-file", metavar="FILE", help="also write the variables to FILE (KEY=VALUE lines), removed at exit"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line (url, xray_address, env)")
    parser.set_defaults(handler=run_serve)


def served_env(backend: Any) -> dict[str, str]:
    """What a child process or another shell exports to use ``backend``: AWS SDKs' and iatk's variables."""
    from iatk._aws import session_env

    env = session_env(backend.session())
    if backend.xray_address:
        env["AWS_XRAY_DAEMON_ADDRESS"] = backend.xray_address
    env["IATK_ENDPOINT_URL"] = backend.url
    return dict(sorted(env.items()))


def run_serve(args: argparse.Namespace) -> int:
    from iatk.embedded import EmbeddedBackend

    from ._served import announce, withdraw

    stop = threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():  # only there can handlers be set
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    backend = EmbeddedBackend(resolved(args, "region"))
    record: Path | None = None
    env_file = Path(args.env_file) if args.env_file else None
    try:
        backend.start()
        env = served_env(backend)
        record = announce(str(backend.url), backend.xray_address)
        if env_file is not None:
            env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()), encoding="utf-8")
        if args.json:
            print(json.dumps({"url": backend.url, "xray_address": backend.xray_address, "env": env}))
        else:
            print(f"iatk serve: embedded backend at {backend.url} (X-Ray relay udp://{backend.xray_address})")
            print("# in another shell (AWS SDKs, the AWS CLI, `iatk ... --backend moto`):")
            for key, value in env.items():
                print(f"export {key}={value}")
            print("# Ctrl-C stops it", flush=True)
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        backend.stop()
        if record is not None:
            withdraw(record)
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("iatk serve: stopped", file=sys.stderr)
    return 0
