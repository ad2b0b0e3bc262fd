"""iatk.xray gives aws-iatk's ``aws_iatk.xray`` names, so those imports port by changing the package."""

from __future__ import annotations

import importlib

import pytest

import iatk.compat
import iatk.xray


def test_xray_names_are_the_compat_types():
    """Every name of iatk.xray is the compat type, and Exception is the cause's exception record."""
    for name in iatk.xray.__all__:
        expected = iatk.compat.CauseException if name == "Exception" else getattr(iatk.compat, name)
        assert getattr(iatk.xray, name) is expected, name


def test_xray_covers_aws_iatk_xray_classes():
    """Each class aws-iatk's xray module defines (but its Service record) is importable from iatk.xray."""
    try:
        theirs = importlib.import_module("aws_iatk.xray")
    except ImportError:
        pytest.skip("aws-iatk is not installed (pip install 'iatk[bench]')")
    classes = {
        name
        for name, value in vars(theirs).items()
        if isinstance(value, type) and value.__module__ == theirs.__name__ and name != "Service"
    }
    missing = sorted(name for name in classes if not hasattr(iatk.xray, name))
    assert missing == []
