"""Which program serves a function's runtime, with which arguments: one :class:`LaunchPlan` per function.

- ``python3.x`` (any minor): the test's own interpreter (``sys.executable``) runs iatk's
  ``bootstrap.py``, or AWS's ``awslambdaric`` when it is importable (not under strict mode). The local
  interpreter's version is used whatever the function declares; the log's ``INIT_START`` line says so.
- ``nodejs*``: ``node`` from PATH runs iatk's ``bootstrap.js``.
- ``provided``, ``provided.al2``, ``provided.al2023``: the code's ``bootstrap`` executable (else the
  layers' ``bootstrap``, as ``/opt/bootstrap``), with ``AWS_LAMBDA_RUNTIME_API`` set.

Anything else (another language, an image function, ``nodejs*`` without ``node``) raises
:class:`~.spec.RuntimeNotSupported` naming the function, its runtime and what to do.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .code import CodeStore
from .spec import FunctionSpec, RuntimeNotSupported

__all__ = ["RUNTIME_DIR", "LaunchOptions", "LaunchPlan", "plan_launch"]

#: Where the bootstraps live (``LAMBDA_RUNTIME_DIR``, as ``/var/runtime`` on AWS).
RUNTIME_DIR = Path(__file__).resolve().parent

Kind = Literal["python", "nodejs", "provided"]

_PROVIDED = ("provided", "provided.al2", "provided.al2023")
_ON_AWS = "run this function's tests against AWS (without --iatk-backend=moto)"


@dataclass(frozen=True)
class LaunchOptions:
    """How this runtime serves functions (from :class:`~.pool.LambdaRuntime`'s arguments)."""

    python: str = sys.executable
    node: str | None = None
    strict: bool = False
    #: The directory awslambdaric is importable from (None: iatk's own bootstrap).
    ric_dir: str | None = None
    #: The test interpreter's site directories (left out under strict mode).
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaunchPlan:
    """What to start for one function: the program, its directory, the ``PATH``/``NODE_PATH`` parts."""

    kind: Kind
    argv: tuple[str, ...]
    task_root: Path
    opt: Path | None
    #: ``INIT_START``'s runtime version (says when the local interpreter differs from the declared one).
    runtime_version: str
    path_dirs: tuple[str, ...] = ()
    node_path: tuple[str, ...] = field(default=())


def plan_launch(spec: FunctionSpec, store: CodeStore, options: LaunchOptions) -> LaunchPlan:
    """The plan to serve ``spec``; raises :class:`RuntimeNotSupported` when it cannot be served here."""
    kind = _kind(spec, options)
    task_root = store.task_root(spec.code, spec.runtime)
    opt = store.opt_dir(spec.layers)
    opt_bin = (str(opt / "bin"),) if opt else ()
    if kind == "python":
        paths = [str(task_root)]
        if opt:
            versions = dict.fromkeys([spec.runtime, f"python{sys.version_info.major}.{sys.version_info.minor}"])
            paths += [str(opt / "python" / "lib" / v / "site-packages") for v in versions]
            paths.append(str(opt / "python"))
        sites = [str(store.strict_site())] if options.strict else list(options.sites)
        ric = None if options.strict else options.ric_dir
        config = json.dumps({"paths": paths, "sites": sites, "ric": ric})
        local = platform.python_version()
        declared = spec.runtime.removeprefix("python")
        version = f"python:{local}" + (
            "" if local.startswith(declared) else f" (local interpreter; declared {spec.runtime})"
        )
        argv: tuple[str, ...] = (options.python, "-B", "-S", "-u", str(RUNTIME_DIR / "bootstrap.py"), config)
        return LaunchPlan("python", argv, task_root, opt, version, (*opt_bin, str(Path(options.python).parent)))
    if kind == "nodejs":
        assert options.node is not None
        node_path: list[str] = []
        if opt:
            major = re.match(r"nodejs(\d+)", spec.runtime)
            if major:
                node_path.append(str(opt / "nodejs" / f"node{major.group(1)}" / "node_modules"))
            node_path.append(str(opt / "nodejs" / "node_modules"))
        node_path.append(str(task_root))
        argv = (options.node, str(RUNTIME_DIR / "bootstrap.js"))
        return LaunchPlan(
            "nodejs",
            argv,
            task_root,
            opt,
            f"nodejs (local node {options.node})",
            (*opt_bin, str(Path(options.node).parent)),
            tuple(node_path),
        )
    bootstrap = task_root / "bootstrap"
    if not bootstrap.exists() and opt is not None and (opt / "bootstrap").exists():
        bootstrap = opt / "bootstrap"
    return LaunchPlan("provided", (str(bootstrap),), task_root, opt, f"{spec.runtime} (local OS)", opt_bin)


def _kind(spec: FunctionSpec, options: LaunchOptions) -> Kind:
    where = f"function {spec.name!r} (runtime {spec.runtime or '-'})"
    if spec.package_type.lower() == "image":
        raise RuntimeNotSupported(
            f"{where} is a container image (PackageType Image): the embedded backend runs zip functions"
            f" only, without Docker (python3.x, nodejs*, provided*); {_ON_AWS}",
            function=spec.name,
            runtime=spec.runtime or "Image",
        )
    runtime = spec.runtime
    if re.fullmatch(r"python3(\.\d+)?", runtime):
        return "python"
    if runtime.startswith("nodejs"):
        if not options.node:
            raise RuntimeNotSupported(
                f"{where}: Node.js is needed and no `node` is on PATH; install Node.js (e.g. `apt-get install"
                f" nodejs`, `brew install node`) or {_ON_AWS}",
                function=spec.name,
                runtime=runtime,
            )
        return "nodejs"
    if runtime in _PROVIDED:
        return "provided"
    raise RuntimeNotSupported(
        f"{where}: this runtime cannot be run by the embedded backend, which serves python3.x (on the test's"
        f" interpreter), nodejs* (on a local `node`) and provided/provided.al2/provided.al2023 (the code's"
        f" `bootstrap`); {_ON_AWS}",
        function=spec.name,
        runtime=runtime,
    )
