"""The seams of the mock_events package: the CLI's helpers and the schema dir's layout (no AWS)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import iatk.mock_events
from iatk._backend.moto.schemas import SchemaFolder, schema_files
from iatk.mock_events import eventbridge_envelope, merge_overrides, mock_event, seeded_envelope

# ---------------------------------------------------------------------------------------------- CLI helpers


def test_cli_helpers_are_importable_but_not_public():
    """merge_overrides and seeded_envelope serve iatk's CLI: importable, outside __all__."""
    assert {"merge_overrides", "seeded_envelope"}.isdisjoint(iatk.mock_events.__all__)
    assert iatk.mock_events.OPENAPI3 == "OpenApi3"
    assert iatk.mock_events.JSON_SCHEMA_DRAFT4 == "JSONSchemaDraft4"


def test_merge_overrides_merges_mappings_and_replaces_the_rest():
    """Mappings merge key by key; other values replace, as plain JSON shapes; the base is not changed."""
    base = {"detail": {"a": 1, "b": {"c": 2}}, "source": "s"}
    merged = merge_overrides(base, {"detail": {"b": {"d": 3}, "e": (1, 2)}, "source": {"x": 1}})
    assert merged == {"detail": {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}, "source": {"x": 1}}
    assert base == {"detail": {"a": 1, "b": {"c": 2}}, "source": "s"}


def test_seeded_envelope_depends_only_on_the_seed():
    """Same seed, same id and time (a 2024 time, a uuid4); another seed, other values."""
    first = seeded_envelope({"a": 1}, "src", "dt", seed=3)
    again = seeded_envelope({"a": 1}, "src", "dt", seed=3)
    other = seeded_envelope({"a": 1}, "src", "dt", seed=4)
    assert first == again
    assert (first["id"], first["time"]) != (other["id"], other["time"])
    assert uuid.UUID(first["id"]).version == 4
    assert first["time"].startswith("2024-")
    assert (first["source"], first["detail-type"], first["detail"]) == ("src", "dt", {"a": 1})


def test_seeded_envelope_keeps_an_events_own_id_and_time():
    """An event that has its id and time (an AWSEvent's seeded ones) keeps them."""
    own = {"id": "my-id", "time": "2020-01-01T00:00:00Z", "detail": {}}
    event = seeded_envelope(own, seed=3)
    assert (event["id"], event["time"]) == ("my-id", "2020-01-01T00:00:00Z")


def test_seeded_envelope_without_a_seed_is_eventbridge_envelope():
    """seed=None: a fresh id and the time now, as eventbridge_envelope gives."""
    before = datetime.now(timezone.utc).replace(microsecond=0)
    event = seeded_envelope({"a": 1}, "src", "dt", seed=None)
    assert event["id"] != seeded_envelope({"a": 1}, "src", "dt", seed=None)["id"]
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")) >= before
    assert event.keys() == eventbridge_envelope({"a": 1}, "src", "dt").keys()


def test_seeded_generation_is_unchanged_by_the_split():
    """The generator's seeded draws (uuid, date-time) and an envelope's id stay what they were."""
    schema = {
        "type": "object",
        "required": ["id", "at", "n"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "at": {"type": "string", "format": "date-time"},
            "n": {"type": "integer"},
        },
    }
    assert mock_event(schema_text=schema, seed=1) == {  # the values of the single-module version
        "id": "7bf68fe4-a803-413b-b1b4-6626b0bb0843",
        "at": "2024-11-30T01:18:33Z",
        "n": 4,
    }
    envelope = seeded_envelope({}, "src", "dt", seed=3)
    assert (envelope["id"], envelope["time"]) == ("d28bf9eb-d26c-4d15-bf02-559b0c114908", "2024-09-07T07:07:58Z")


# ---------------------------------------------------------------------------------------------- schema dir


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


def test_schema_folder_lists_like_the_registry(tmp_path: Path):
    """Registries are folders; a registry's schemas are its files and folders; versions sort as numbers."""
    make(tmp_path, "reg/Flat.json", "reg/Flat.yaml", "reg/Versioned/10.json", "reg/Versioned/2.yml", "other/X.json")
    folder = SchemaFolder(tmp_path)
    assert sorted(folder.registries()) == ["other", "reg"]
    assert folder.schemas("reg") == {"Flat", "Versioned"}
    assert list(folder.versions("reg", "Versioned")) == ["2", "10"]
    assert folder.versions("reg", "Flat") == {}
    assert schema_files(tmp_path / "reg")["Flat"].suffix == ".json"  # .json before .yaml


def test_schema_folder_finds_the_file_that_serves_a_version(tmp_path: Path):
    """A version's file, else the unversioned file, else (no version asked) the highest version."""
    make(tmp_path, "reg/Both.json", "reg/Both/3.json", "reg/Only/2.json", "reg/Only/10.json")
    folder = SchemaFolder(tmp_path)
    assert folder.find("reg", "Both", "3") == (tmp_path / "reg/Both/3.json", "3")
    assert folder.find("reg", "Both", "4") == (tmp_path / "reg/Both.json", None)
    assert folder.find("reg", "Both", None) == (tmp_path / "reg/Both.json", None)
    assert folder.find("reg", "Only", None) == (tmp_path / "reg/Only/10.json", "10")
    assert folder.find("reg", "Only", "7") == (None, None)
    assert folder.find("reg", "Missing", None) == (None, None)
