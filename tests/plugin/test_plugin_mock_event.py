"""The iatk_mock_event fixture in a user suite: schemas read once per session, keywords passed through,
registry schemas from --iatk-schema-dir on the embedded backend (and a clear error without it).

Two child pytest runs (subprocesses with ``--iatk-backend=moto``, each on its own embedded server) in
one folder: one with ``--iatk-schema-dir=registry`` (a relative path), one without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"

COMMON = """
import json, pathlib
import pytest
import iatk

HERE = pathlib.Path(__file__).parent


def trigger(path, hook):
    path.parent.mkdir(parents=True, exist_ok=True)
    document = json.loads((HERE / "plugin_trigger.json").read_text())
    document["properties"]["eventHook"]["example"] = hook
    document["properties"]["eventHook"].pop("enum")  # the marker must be valid: no enum to leave
    path.write_text(json.dumps(document))
"""

WITH_DIR = (
    COMMON
    + """
FILE = HERE / "trigger.json"
REGISTERED = HERE / "registry" / "video" / "PluginTriggered.json"


def test_a_a_file_is_read_once_per_session(iatk_mock_event):
    trigger(FILE, "first")
    assert iatk_mock_event(schema_file=FILE)["eventHook"] == "first"
    trigger(FILE, "second")
    assert iatk.mock_event(schema_file=FILE)["eventHook"] == "second"  # the file did change
    assert iatk_mock_event(schema_file=FILE)["eventHook"] == "first"
    assert iatk_mock_event(schema_file="trigger.json")["eventHook"] == "first"  # same file, relative


def test_b_the_cache_outlives_the_test(iatk_mock_event):
    trigger(FILE, "third")
    assert iatk_mock_event(schema_file=str(FILE))["eventHook"] == "first"


def test_c_keywords_pass_through(iatk_mock_event):
    seen = []

    def context(event):
        seen.append(event["detail"]["priority"])
        event["detail"]["channel"] = "phone"
        return event

    ticket = HERE / "ticket_created.json"
    options = dict(seed=3, overrides={"detail": {"priority": "urgent"}}, skip_optional=True, contexts=[context])
    event = iatk_mock_event(schema_file=ticket, **options)
    assert event == iatk.mock_event(schema_file=ticket, **options)
    assert seen == ["urgent", "urgent"]
    assert (event["detail"]["priority"], event["detail"]["channel"]) == ("urgent", "phone")
    assert "assigneeId" not in event["detail"]  # optional, left out by skip_optional
    assert iatk_mock_event(schema_file=ticket, seed=3) == iatk_mock_event(schema_file=ticket, seed=3)
    assert iatk_mock_event(schema_file=ticket, seed=3) != iatk_mock_event(schema_file=ticket, seed=4)
    recursive = HERE / "catalog_updated_recursive.json"
    assert iatk_mock_event(schema_file=recursive, event_ref="CatalogUpdated", seed=1)["root"]


def test_d_registry_schemas_come_from_the_schema_dir(iatk_mock_event, iatk_settings):
    assert iatk_settings.schema_dir == "registry"
    trigger(REGISTERED, "registered")
    assert iatk_mock_event(registry="video", schema="PluginTriggered")["eventHook"] == "registered"
    trigger(REGISTERED, "edited")
    assert iatk_mock_event(registry="video", schema="PluginTriggered")["eventHook"] == "registered"
    with pytest.raises(iatk.SchemaError, match="schemas there: PluginTriggered"):
        iatk_mock_event(registry="video", schema="PluginTrigger")
"""
)

WITHOUT_DIR = (
    COMMON
    + """
def test_registry_without_a_schema_dir(iatk_mock_event, iatk_settings):
    assert iatk_settings.schema_dir is None
    with pytest.raises(iatk.ConfigError) as caught:
        iatk_mock_event(registry="video", schema="PluginTriggered")
    message = str(caught.value)
    assert "the embedded moto backend has no Schema Registry" in message
    assert "--iatk-schema-dir" in message
    assert "schema_file=" in message
"""
)


@dataclass(frozen=True)
class Child:
    """A finished child run: its exit code and its output."""

    returncode: int
    output: str


def run_child(folder: Path, *args: str) -> Child:
    """pytest in ``folder`` in a subprocess (as runpytest_subprocess does), without this run's IATK_* env."""
    drop = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("IATK_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--iatk-backend=moto", "-p", "no:cacheprovider", "-v", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Child(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The child suites, with copies of the fixture schemas they read."""
    here = tmp_path_factory.mktemp("mock-event-suite")
    (here / "pytest.ini").write_text("[pytest]\n")  # the child's rootdir: no addopts from this repo
    (here / "test_with_dir.py").write_text(WITH_DIR)
    (here / "test_without_dir.py").write_text(WITHOUT_DIR)
    for name in ("plugin_trigger.json", "ticket_created.json", "catalog_updated_recursive.json"):
        shutil.copy(SCHEMAS / name, here / name)
    return here


@pytest.fixture(scope="module")
def with_dir(folder: Path) -> Child:
    """The suite run with --iatk-schema-dir=registry."""
    return run_child(folder, "--iatk-schema-dir=registry", "test_with_dir.py")


def outcome(child: Child, test: str) -> str:
    """PASSED or FAILED for ``test`` (with the output on failure, for the assertion message)."""
    for line in child.output.splitlines():
        if line.startswith("test_") and f"::{test} " in line:
            return line.split(" ")[1]
    return f"not run:\n{child.output}"


def test_a_schema_file_is_read_once_per_session(with_dir: Child):
    """An edited file gives the first version's event again (paths absolute or relative), within the test."""
    assert outcome(with_dir, "test_a_a_file_is_read_once_per_session") == "PASSED", with_dir.output


def test_the_file_cache_spans_the_session(with_dir: Child):
    """A later test editing the file still gets the event of the version read first."""
    assert outcome(with_dir, "test_b_the_cache_outlives_the_test") == "PASSED", with_dir.output


def test_keywords_pass_through(with_dir: Child):
    """seed, overrides, skip_optional, contexts and event_ref reach mock_event unchanged."""
    assert outcome(with_dir, "test_c_keywords_pass_through") == "PASSED", with_dir.output


def test_registry_schemas_come_from_the_schema_dir(with_dir: Child):
    """registry= + schema= read <dir>/<registry>/<schema>.json, once per session; a missing one is listed."""
    assert outcome(with_dir, "test_d_registry_schemas_come_from_the_schema_dir") == "PASSED", with_dir.output
    assert with_dir.returncode == 0, with_dir.output


def test_registry_without_a_schema_dir_is_a_clear_config_error(folder: Path):
    """Without --iatk-schema-dir, registry= on the embedded backend says how to set one (or use schema_file=)."""
    child = run_child(folder, "test_without_dir.py")
    assert outcome(child, "test_registry_without_a_schema_dir") == "PASSED", child.output
    assert child.returncode == 0, child.output
