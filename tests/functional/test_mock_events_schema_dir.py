"""The schema dir: registry schemas read from files on the embedded backend (moto has no Schema Registry).

``registry=`` + ``schema=`` (and aws-iatk's ``registry_name=`` + ``schema_name=``) read
``<schema_dir>/<registry>/<schema>.json|.yaml|.yml``, or ``<schema_dir>/<registry>/<schema>/<version>.json``
for one version, on the shared embedded server's session.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk import _config
from iatk._aws import aws
from iatk.exceptions import ConfigError, SchemaError
from iatk.mock_events import clear_schema_cache, load_schema, mock_event

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
REGISTRY = "discovered-schemas"
NAME = "com.example.support@TicketCreated"


def use_schema_dir(folder: str | Path | None) -> None:
    """Make the run's settings name ``folder`` as schema_dir (what --iatk-schema-dir does), or none."""
    settings = _config.current_settings()
    if folder is None:
        _config.set_current_settings(dataclasses.replace(settings, schema_dir=None))
    else:
        _config.set_current_settings(settings.with_overrides(schema_dir=str(folder)))


@pytest.fixture
def settings_back() -> Iterator[None]:
    """Puts the process's settings back after the test."""
    saved = _config.current_settings()
    try:
        yield
    finally:
        _config.set_current_settings(saved)


@pytest.fixture
def schema_dir(tmp_path: Path, settings_back: None) -> Path:
    """A schema dir with one registry holding the ticket schema (JSON) and the video schema (YAML)."""
    registry = tmp_path / REGISTRY
    registry.mkdir()
    shutil.copy(SCHEMAS / "ticket_created.json", registry / f"{NAME}.json")
    shutil.copy(SCHEMAS / "video_published.yaml", registry / "VideoPublished.yaml")
    use_schema_dir(tmp_path)
    return tmp_path


def plugin_trigger(hook: str) -> dict[str, Any]:
    """The plugin trigger JSON Schema with ``hook`` as the example of eventHook (to tell versions apart)."""
    document = json.loads((SCHEMAS / "plugin_trigger.json").read_text())
    document["properties"]["eventHook"]["example"] = hook
    document["properties"]["eventHook"].pop("enum")  # the marker must be valid: no enum to leave
    return document


def test_registry_schema_is_read_from_the_schema_dir(moto_session: boto3.Session, schema_dir: Path):
    """registry= + schema= give the same event as schema_file= with that file, and the names are kept."""
    event = mock_event(REGISTRY, NAME, seed=5, session=moto_session)
    assert event == mock_event(schema_file=schema_dir / REGISTRY / f"{NAME}.json", seed=5)
    loaded = load_schema(REGISTRY, NAME, session=moto_session)
    assert (loaded.registry, loaded.name, loaded.version, loaded.type) == (REGISTRY, NAME, None, "OpenApi3")
    assert f"{NAME}.json" in loaded.origin
    assert "in the schema dir" in loaded.origin


def test_yaml_files_are_read_too(moto_session: boto3.Session, schema_dir: Path):
    """A .yaml file in the registry folder serves its schema."""
    event = mock_event(REGISTRY, "VideoPublished", seed=2, session=moto_session)
    assert event == mock_event(schema_file=SCHEMAS / "video_published.yaml", seed=2)


def test_an_unversioned_file_serves_every_version(moto_session: boto3.Session, schema_dir: Path):
    """Asking for a version reads <schema>.json when there is no version folder; the version is None."""
    loaded = load_schema(REGISTRY, NAME, 7, session=moto_session)
    assert loaded.version is None
    assert loaded.document == json.loads((SCHEMAS / "ticket_created.json").read_text())


def test_version_folders(moto_session: boto3.Session, schema_dir: Path):
    """<schema>/<version>.json: a version by name, the highest by number with none, a missing one listed."""
    versions = schema_dir / REGISTRY / "PluginTrigger"
    versions.mkdir()
    for version in ("1", "2", "10"):
        (versions / f"{version}.json").write_text(json.dumps(plugin_trigger(f"hook-{version}")))
    assert mock_event(REGISTRY, "PluginTrigger", "2", session=moto_session)["eventHook"] == "hook-2"
    assert mock_event(REGISTRY, "PluginTrigger", 1, session=moto_session)["eventHook"] == "hook-1"
    latest = load_schema(REGISTRY, "PluginTrigger", session=moto_session)
    assert latest.version == "10"
    assert mock_event(schema=latest)["eventHook"] == "hook-10"
    with pytest.raises(SchemaError) as caught:
        load_schema(REGISTRY, "PluginTrigger", "3", session=moto_session)
    assert "schema 'PluginTrigger' version '3' in registry 'discovered-schemas' not found" in str(caught.value)
    assert "versions (files in" in str(caught.value)
    assert "1, 2, 10" in str(caught.value)
    assert caught.value.code == "NotFoundException"


def test_missing_schema_lists_the_schemas_of_the_registry(moto_session: boto3.Session, schema_dir: Path):
    """An unknown schema name is a SchemaError listing the registry folder's schemas, closest first."""
    with pytest.raises(SchemaError) as caught:
        mock_event(REGISTRY, "com.example.support@TicketCreate", session=moto_session)
    message = str(caught.value)
    assert "schema 'com.example.support@TicketCreate' in registry 'discovered-schemas' not found" in message
    assert f"schemas there: {NAME}, VideoPublished" in message
    assert str(schema_dir) in message


def test_missing_registry_lists_the_registry_folders(moto_session: boto3.Session, schema_dir: Path):
    """An unknown registry is a SchemaError listing the folders of the schema dir."""
    (schema_dir / "aws.events").mkdir()
    with pytest.raises(SchemaError) as caught:
        mock_event("discovered-schema", NAME, session=moto_session)
    assert "no folder 'discovered-schema'" in str(caught.value)
    assert "registries (folders): discovered-schemas, aws.events" in str(caught.value)


def test_names_cannot_leave_the_schema_dir(moto_session: boto3.Session, schema_dir: Path):
    """A registry, schema or version name with a path separator or '..' is refused before any file read."""
    for registry, name, version in [("..", NAME, None), (REGISTRY, "../x", None), (REGISTRY, NAME, "../1")]:
        with pytest.raises(SchemaError, match="cannot name a file in the schema dir"):
            load_schema(registry, name, version, session=moto_session)


def test_schema_dir_schemas_are_read_once_per_session(moto_session: boto3.Session, schema_dir: Path):
    """Like registry schemas, a schema dir file is cached per session: an edit shows after clear_schema_cache()."""
    path = schema_dir / REGISTRY / "PluginTrigger.json"
    path.write_text(json.dumps(plugin_trigger("first")))
    assert mock_event(REGISTRY, "PluginTrigger", session=moto_session)["eventHook"] == "first"
    path.write_text(json.dumps(plugin_trigger("second")))
    assert mock_event(REGISTRY, "PluginTrigger", session=moto_session)["eventHook"] == "first"
    clear_schema_cache()
    assert mock_event(REGISTRY, "PluginTrigger", session=moto_session)["eventHook"] == "second"


def test_a_relative_schema_dir_is_read_from_the_current_directory(
    moto_session: boto3.Session, schema_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    """schema_dir='schemas' means ./schemas."""
    monkeypatch.chdir(schema_dir.parent)
    use_schema_dir(schema_dir.name)
    assert load_schema(REGISTRY, NAME, session=moto_session).name == NAME


def test_a_schema_dir_that_is_not_a_folder_is_a_config_error(
    moto_session: boto3.Session, tmp_path: Path, settings_back: None
):
    """A schema_dir naming nothing says so, with the setting's three names."""
    use_schema_dir(tmp_path / "nowhere")
    with pytest.raises(ConfigError) as caught:
        mock_event(REGISTRY, NAME, session=moto_session)
    assert "is not a folder" in str(caught.value)
    assert "--iatk-schema-dir" in str(caught.value)


def test_without_a_schema_dir_the_embedded_backend_says_how_to_set_one(
    moto_session: boto3.Session, settings_back: None
):
    """No schema_dir on the embedded backend: a ConfigError naming --iatk-schema-dir and schema_file=."""
    use_schema_dir(None)
    with pytest.raises(ConfigError) as caught:
        mock_event(REGISTRY, NAME, session=moto_session)
    message = str(caught.value)
    assert "the embedded moto backend has no Schema Registry" in message
    assert "--iatk-schema-dir" in message
    assert "IATK_SCHEMA_DIR" in message
    assert "schema_file=" in message


def test_on_aws_the_registry_is_read_even_with_a_schema_dir(schema_dir: Path):
    """The schema dir stands in for the registry on the embedded backend only: on AWS DescribeSchema is called."""
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    content = plugin_trigger("from-the-registry")
    response = {"Content": json.dumps(content), "SchemaName": NAME, "SchemaVersion": "4", "Type": "JSONSchemaDraft4"}
    with Stubber(aws(session).schemas) as stub:
        stub.add_response("describe_schema", response, {"RegistryName": REGISTRY, "SchemaName": NAME})
        event = mock_event(REGISTRY, NAME, session=session)
        stub.assert_no_pending_responses()
    assert event["eventHook"] == "from-the-registry"


def test_aws_iatk_generate_mock_event_reads_the_schema_dir(moto_session: boto3.Session, schema_dir: Path):
    """AwsIatk.generate_mock_event(registry_name=, schema_name=, event_ref=) works unchanged on the embedded
    backend (event_ref is required, as in aws-iatk 0.1.0)."""
    from iatk import AwsIatk

    kit = AwsIatk(session=moto_session)
    event = kit.generate_mock_event(registry_name=REGISTRY, schema_name=NAME, event_ref="AWSEvent").event
    # aws-iatk's placeholder values ("" for strings), in the schema's shape: the file was read
    assert event["source"] == ""
    assert {"ticketId", "createdAt", "priority", "customer", "lines", "channel"} <= set(event["detail"])
