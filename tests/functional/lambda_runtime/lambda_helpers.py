"""Helpers of the Lambda runtime's tests (a module of its own name: every test dir has a ``conftest``)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

from iatk._backend.moto.lambda_ import FunctionSpec, LambdaRuntime

DATA = Path(__file__).resolve().parents[2] / "data" / "lambda"
PY = DATA / "python"
NODE = DATA / "node"
PY_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the local interpreter's

#: The runtimes not yet shut down (the leak check allows their warm processes).
OPEN: list[LambdaRuntime] = []


def zip_dir(root: Path, prefix: str = "", extra: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """A zip of a directory (modes kept), with ``extra`` members ``name: (data, mode)``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(prefix + path.relative_to(root).as_posix())
                info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
                zf.writestr(info, path.read_bytes())
        for name, (data, mode) in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def zip_files(files: dict[str, str | bytes], mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def py_spec(handler: str, name: str | None = None, **kw: Any) -> FunctionSpec:
    """A Python function served from tests/data/lambda/python."""
    kw.setdefault("code", PY)
    return FunctionSpec(
        name=name or handler.replace(".", "-").replace("/", "-"), runtime=PY_RUNTIME, handler=handler, **kw
    )
