"""The public namespace: __all__ is sorted, complete and every name resolves."""

from __future__ import annotations

import subprocess
import sys

import iatk


def test_all_is_sorted_and_unique():
    """__all__ is sorted (case-sensitive, as ruff sorts it) and has no duplicates."""
    assert list(iatk.__all__) == sorted(set(iatk.__all__))


def test_every_exported_name_resolves():
    """Every name in __all__ can be read from the package."""
    for name in iatk.__all__:
        assert getattr(iatk, name) is not None, name


def test_every_public_name_is_exported():
    """Every lazily loaded public name and every error class is in __all__ (but the aws-iatk extras)."""
    lazy = {name for name in iatk._LAZY if not name.startswith("_")} - iatk._COMPAT_ONLY
    errors = {name for name in dir(iatk.exceptions) if isinstance(getattr(iatk.exceptions, name), type)}
    errors = {name for name in errors if issubclass(getattr(iatk.exceptions, name), Exception)}
    assert lazy | errors <= set(iatk.__all__)
    assert set(iatk.__all__) <= lazy | errors | {name for name in vars(iatk) if not name.startswith("_")}


def test_aws_iatk_module_attributes_outside_all_resolve():
    """`import iatk as aws_iatk`: aws-iatk's attributes outside __all__ resolve (RetryableException...), unlisted."""
    assert set(iatk._LAZY) >= iatk._COMPAT_ONLY
    assert not iatk._COMPAT_ONLY & set(iatk.__all__)
    for name in iatk._COMPAT_ONLY:
        assert getattr(iatk, name) is getattr(iatk.compat, name), name
        assert name in dir(iatk)


def test_unknown_attribute_raises_attribute_error():
    """A misspelt name is an AttributeError, not a silent None."""
    try:
        iatk.Stak  # noqa: B018
    except AttributeError as err:
        assert "Stak" in str(err)
    else:
        raise AssertionError("iatk.Stak did not raise")


def test_importing_iatk_and_the_plugin_does_not_import_boto3():
    """`import iatk.pytest_plugin` stays cheap: no boto3, botocore or moto until a fixture needs them."""
    code = "import sys, iatk, iatk.pytest_plugin; print(sorted(m for m in ('boto3','botocore','moto') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_version_comes_from_metadata():
    """__version__ is the installed distribution's version."""
    from importlib.metadata import version

    assert iatk.__version__ == version("iatk")


def test_the_type_checkers_imports_match_the_one_table_of_names():
    """The TYPE_CHECKING imports (for mypy and IDEs) name exactly iatk._PUBLIC, module by module, re-exported."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(iatk.__file__).read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING")
    imported: dict[str, set[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: re-export it as `{alias.name} as {alias.name}`"
            imported.setdefault(str(node.module), set()).add(alias.name)
    assert imported == {module: set(names) for module, names in iatk._PUBLIC.items()}


def test_each_public_name_is_listed_once():
    """No name appears under two modules of the table."""
    names = [name for names in iatk._PUBLIC.values() for name in names]
    assert len(names) == len(set(names))
