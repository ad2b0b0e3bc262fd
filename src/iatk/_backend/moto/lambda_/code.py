"""Function code and layers on disk: each zip extracted once per code hash into a run-scoped directory.

- A function's zip becomes its task root (``LAMBDA_TASK_ROOT``); a directory is served in place.
- moto names an inline ``Code.ZipFile`` ``index.py`` (plus its ``cfnresponse.py``) whatever the
  runtime. For a ``nodejs*`` function whose zip holds only those, the file is served as ``index.js``
  with a ``cfn-response`` module beside it, as AWS provides for inline Node code.
- A function's layers are laid out together as ``/opt`` would be (in order, a later layer overwriting
  an earlier one's files): ``python/``, ``python/lib/python3.X/site-packages``, ``nodejs/node_modules``,
  ``nodejs/node<major>/node_modules``, ``bin/``, ``lib/``, ``bootstrap``.
- Under strict mode the Python child sees, instead of the test's virtualenv, only the packages AWS's
  Python runtime itself provides (boto3 and its dependencies), linked from the virtualenv.

Zip members keep their Unix permissions (a ``provided`` bootstrap needs its executable bit, as on AWS)
and symlinks that stay inside the tree; nothing is written outside the store's root.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .spec import Code

__all__ = ["AWS_PROVIDED_PACKAGES", "CodeStore", "is_moto_inline_zip"]

#: What AWS's Python runtimes ship besides the standard library (what strict mode still shows).
AWS_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

_INLINE_NAMES = {"index.py", "cfnresponse.py"}
_CFN_RESPONSE_JS = Path(__file__).with_name("cfn_response.js")


def is_moto_inline_zip(data: bytes) -> bool:
    """Whether a zip is moto's rendering of an inline ``Code.ZipFile``: ``index.py`` (+ ``cfnresponse.py``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = {info.filename for info in zf.infolist() if not info.is_dir()}
    except zipfile.BadZipFile:
        return False
    return "index.py" in names and names <= _INLINE_NAMES


class CodeStore:
    """Extracted code and layers of one runtime; :meth:`close` removes them all.

    Args:
        root: Where to extract; a new temporary directory when None (removed by :meth:`close`).
    """

    def __init__(self, root: Path | None = None) -> None:
        self._owned = root is None
        self.root = Path(tempfile.mkdtemp(prefix="iatk-lambda-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._done: dict[str, Path] = {}

    def task_root(self, code: Code, runtime: str) -> Path:
        """The directory to serve a function's code from (extracting its zip on first use)."""
        if not isinstance(code, bytes):
            path = Path(code).resolve()
            if path.is_file():
                return self.task_root(path.read_bytes(), runtime)
            if not path.is_dir():
                raise FileNotFoundError(f"the function's code directory does not exist: {path}")
            return path
        node_inline = runtime.startswith("nodejs") and is_moto_inline_zip(code)
        key = f"code/{hashlib.sha256(code).hexdigest()[:32]}{'-node' if node_inline else ''}"

        def fill(dest: Path) -> None:
            _extract(code, dest)
            if node_inline:
                (dest / "index.py").rename(dest / "index.js")
                module = dest / "node_modules" / "cfn-response"
                module.mkdir(parents=True)
                shutil.copyfile(_CFN_RESPONSE_JS, module / "index.js")

        return self._once(key, fill)

    def opt_dir(self, layers: Sequence[Code]) -> Path | None:
        """The layers merged as ``/opt`` (None without layers)."""
        if not layers:
            return None
        digest = hashlib.sha256()
        for layer in layers:
            digest.update(
                hashlib.sha256(layer).digest() if isinstance(layer, bytes) else str(Path(layer).resolve()).encode()
            )
        key = f"opt/{digest.hexdigest()[:32]}"

        def fill(dest: Path) -> None:
            for layer in layers:
                if isinstance(layer, bytes):
                    _extract(layer, dest)
                else:
                    shutil.copytree(Path(layer), dest, symlinks=True, dirs_exist_ok=True)

        return self._once(key, fill)

    def strict_site(self) -> Path:
        """A site directory holding links to :data:`AWS_PROVIDED_PACKAGES` as the test's interpreter has them."""

        def fill(dest: Path) -> None:
            for name in AWS_PROVIDED_PACKAGES:
                spec = importlib.util.find_spec(name)
                if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
                    continue
                origin = Path(spec.origin)
                # A package is linked as its directory. (Not by submodule_search_locations: an imported
                # six sets it to [] on its own spec, which would link the whole site-packages.)
                source = origin.parent if origin.name == "__init__.py" else origin
                os.symlink(source, dest / source.name)

        return self._once("strict-site", fill)

    def close(self) -> None:
        """Remove everything extracted (the root itself when the store created it). Idempotent."""
        with self._lock:
            self._done.clear()
            target = self.root if self._owned else None
        if target is not None:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for sub in ("code", "opt", "strict-site"):
                shutil.rmtree(self.root / sub, ignore_errors=True)

    def _once(self, key: str, fill: Callable[[Path], None]) -> Path:
        with self._lock:
            done = self._done.get(key)
            if done is not None:
                return done
            dest = self.root / key
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=dest.parent))
            try:
                fill(partial)
                if dest.exists():
                    shutil.rmtree(dest)
                partial.rename(dest)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            self._done[key] = dest
            return dest


def _extract(data: bytes, dest: Path) -> None:
    """Extract a zip into ``dest`` keeping modes and inner symlinks; refuse paths that leave ``dest``."""
    root = dest.resolve()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if target != root and root not in target.parents:
                raise ValueError(f"zip member leaves the code directory: {info.filename!r}")
            mode = (info.external_attr >> 16) & 0xFFFF
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if stat.S_ISLNK(mode):
                link = zf.read(info).decode()
                if (target.parent / link).resolve().is_relative_to(root):
                    if target.is_symlink() or target.exists():
                        target.unlink()
                    os.symlink(link, target)
                continue
            if target.is_symlink():
                target.unlink()
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            if mode & 0o777:
                os.chmod(target, mode & 0o777)
