"""`iatk mock-event`: schema files (JSON, YAML), the registry through a Stubber, overrides, seeds, envelopes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber

from iatk._aws import aws
from iatk.cli import main
from iatk.mock_events import load_schema, to_json_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
TICKET = str(SCHEMAS / "ticket_created.json")
VIDEO = str(SCHEMAS / "video_published.yaml")
TRIGGER = str(SCHEMAS / "plugin_trigger.json")
PAYMENT = str(SCHEMAS / "payment_processed.json")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """A fixed region (it goes into envelopes) and no backend or endpoint from the machine."""
    for key in ("IATK_BACKEND", "IATK_ENDPOINT_URL", "IATK_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


def run(capsys, *argv: str, session: Any = None) -> tuple[int, str, str]:
    """main(["mock-event", ...]) in process: (exit code, stdout, stderr)."""
    code = main(["mock-event", *argv], session=session)
    out, err = capsys.readouterr()
    return code, out, err


def event_of(capsys, *argv: str, session: Any = None) -> dict[str, Any]:
    """The printed event of a run that must succeed."""
    code, out, err = run(capsys, *argv, session=session)
    assert (code, err) == (0, "")
    value: dict[str, Any] = json.loads(out)
    return value


def assert_valid(event: dict[str, Any], file: str, event_ref: str | None = None) -> None:
    """The event validates against its schema (jsonschema on iatk's JSON Schema view)."""
    schema = to_json_schema(load_schema(schema_file=file), event_ref)
    jsonschema.validators.validator_for(schema)(schema).validate(event)


# -- sources -------------------------------------------------------------------------------------
def test_json_schema_file_gives_a_valid_aws_event(capsys):
    """An OpenAPI file with AWSEvent: a valid event with the schema's source and detail-type."""
    event = event_of(capsys, "--schema-file", TICKET)
    assert_valid(event, TICKET)
    assert (event["source"], event["detail-type"], event["region"]) == (
        "com.example.support",
        "TicketCreated",
        "eu-west-1",
    )


def test_yaml_schema_file(capsys):
    """A YAML file works the same (its YAML dates stay text)."""
    event = event_of(capsys, "--schema-file", VIDEO)
    assert_valid(event, VIDEO)
    assert event["source"] == "com.example.video"
    assert isinstance(event["detail"]["embargoUntil"], str)


def test_region_option_sets_the_envelope_region(capsys):
    """--region goes into the event's region (a file needs no other AWS setting)."""
    event = event_of(capsys, "--schema-file", TICKET, "--region", "ap-south-1")
    assert event["region"] == "ap-south-1"
    entry = event_of(capsys, "--schema-file", PAYMENT, "--envelope", "--region", "ap-south-1")
    assert entry["region"] == "ap-south-1"


def test_event_ref_picks_the_root(capsys):
    """--event-ref names the component to generate instead of AWSEvent."""
    event = event_of(capsys, "--schema-file", TICKET, "--event-ref", "TicketLine")
    assert_valid(event, TICKET, "TicketLine")
    assert {"sku", "quantity", "unitPrice"} <= set(event)
    assert "detail" not in event


def test_skip_optional_keeps_only_required_properties(capsys):
    """--skip-optional leaves every optional property out."""
    event = event_of(capsys, "--schema-file", TICKET, "--skip-optional")
    assert_valid(event, TICKET)
    assert set(event["detail"]) == {"ticketId", "createdAt", "priority", "customer", "lines", "channel"}
    assert set(event["detail"]["customer"]) == {"customerId", "email", "address"}


def test_repeated_overrides_are_deep_merged(capsys):
    """Each --override merges onto the event in turn; sibling keys survive."""
    event = event_of(
        capsys,
        "--schema-file",
        TICKET,
        "--override",
        '{"detail": {"priority": "urgent", "customer": {"name": "Ada"}}}',
        "--override",
        '{"detail": {"customer": {"vip": true}}}',
    )
    customer = event["detail"]["customer"]
    assert event["detail"]["priority"] == "urgent"
    assert (customer["name"], customer["vip"]) == ("Ada", True)
    assert customer["customerId"].startswith("CUST-")
    assert_valid(event, TICKET)


# -- reproducibility -----------------------------------------------------------------------------
def test_seed_gives_the_same_event_twice(capsys):
    """--seed N prints the same event each time; another seed, another event."""
    first = run(capsys, "--schema-file", TICKET, "--seed", "7")
    second = run(capsys, "--schema-file", TICKET, "--seed", "7")
    other = run(capsys, "--schema-file", TICKET, "--seed", "8")
    assert first == second
    assert first[0] == 0
    assert json.loads(first[1]) != json.loads(other[1])


def _cli(*argv: str, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    done = subprocess.run(
        [sys.executable, "-m", "iatk", "mock-event", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_seed_with_envelope_is_reproducible_across_processes():
    """--seed with --envelope: two processes (different hash seeds) print the same id, time and detail."""
    argv = ("--schema-file", TRIGGER, "--seed", "3", "--envelope", "--source", "video.plugin")
    first, second = _cli(*argv, hash_seed="1"), _cli(*argv, hash_seed="2")
    assert first == second
    event = json.loads(first)
    assert event["source"] == "video.plugin"
    assert event["time"].startswith("2024-")  # seeded times fall in the seeded year, not now


def test_seed_changes_the_envelope_id_and_time(capsys):
    """Different seeds give different envelope ids; no seed gives a fresh id and the current time."""
    argv = ("--schema-file", TRIGGER, "--envelope", "--source", "video.plugin", "--detail-type", "trigger")
    three = event_of(capsys, *argv, "--seed", "3")
    four = event_of(capsys, *argv, "--seed", "4")
    fresh = event_of(capsys, *argv)
    assert three["id"] != four["id"]
    assert fresh["time"].startswith(str(datetime.now(timezone.utc).year))


def test_an_aws_event_keeps_its_own_seeded_id_and_time(capsys):
    """An AWSEvent is already an envelope: --envelope keeps the id and time the seed generated."""
    plain = event_of(capsys, "--schema-file", TICKET, "--seed", "5")
    wrapped = event_of(capsys, "--schema-file", TICKET, "--seed", "5", "--envelope")
    assert (wrapped["id"], wrapped["time"]) == (plain["id"], plain["time"])


# -- envelopes and PutEvents entries -----------------------------------------------------------
def test_envelope_takes_source_and_detail_type_from_the_schema(capsys):
    """A detail-only schema with x-amazon-events-*: --envelope uses them; the options override them."""
    event = event_of(capsys, "--schema-file", PAYMENT, "--envelope", "--seed", "1")
    assert (event["source"], event["detail-type"]) == ("com.example.payments", "PaymentProcessed")
    assert_valid(event["detail"], PAYMENT)
    event = event_of(capsys, "--schema-file", PAYMENT, "--envelope", "--source", "s", "--detail-type", "d")
    assert (event["source"], event["detail-type"]) == ("s", "d")


def test_envelope_says_when_it_falls_back_to_the_placeholders(capsys):
    """A schema with no x-amazon-events-detail-type/source: the envelope's placeholders are named on stderr."""
    code, out, err = run(capsys, "--schema-file", TRIGGER, "--envelope", "--source", "video.plugin")
    assert code == 0
    assert json.loads(out)["detail-type"] == "iatk.mock"
    assert "the schema names no detail-type" in err
    assert "pass --detail-type" in err
    assert "--source" not in err  # given, so not a placeholder


def test_schema_dir_stands_in_for_the_registry_without_aws(capsys, tmp_path):
    """--schema-dir DIR with --registry/--schema reads DIR/<registry>/<schema>.json: no server, no AWS."""
    folder = tmp_path / "schemas" / "payments"
    folder.mkdir(parents=True)
    (folder / "PaymentProcessed.json").write_text(Path(PAYMENT).read_text())
    event = event_of(
        capsys, "--registry", "payments", "--schema", "PaymentProcessed", "--schema-dir", str(tmp_path / "schemas")
    )
    assert_valid(event, PAYMENT)
    code, _, err = run(capsys, "--registry", "payments", "--schema", "Nope", "--schema-dir", str(tmp_path / "schemas"))
    assert code == 1
    assert "Nope" in err
    assert "--iatk-" not in err
    code, _, err = run(
        capsys, "--registry", "payments", "--schema", "PaymentProcessed", "--schema-dir", "x", "--backend", "aws"
    )
    assert code == 2
    assert "--schema-dir stands in for the Schema Registry offline" in err


def test_put_events_entry_prints_rfc3339_time(capsys):
    """--put-events-entry BUS prints a PutEvents entry; Time is RFC 3339 (isoformat), Detail JSON text."""
    entry = event_of(capsys, "--schema-file", TICKET, "--seed", "2", "--put-events-entry", "orders")
    assert set(entry) == {"Source", "DetailType", "Detail", "Resources", "EventBusName", "Time"}
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "com.example.support",
        "TicketCreated",
        "orders",
    )
    assert "T" in entry["Time"]
    assert datetime.fromisoformat(entry["Time"]).utcoffset() is not None
    assert json.loads(entry["Detail"])["customer"]["customerId"].startswith("CUST-")


# -- the registry (botocore's Stubber: moto has no Schemas service) --------------------------------
REGISTRY = "discovered-schemas"
NAME = "com.example.support@TicketCreated"


@pytest.fixture
def registry_session() -> boto3.Session:
    """A session with dummy keys for main(session=...); its schemas client gets a Stubber."""
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


def test_registry_schema_is_read_with_describe_schema(capsys, registry_session):
    """--registry R --schema S --version V: one DescribeSchema, then a valid event from its content."""
    content = Path(TICKET).read_text()
    when = datetime(2024, 3, 1, tzinfo=timezone.utc)
    with Stubber(aws(registry_session).schemas) as stub:
        stub.add_response(
            "describe_schema",
            {
                "Content": content,
                "SchemaArn": f"arn:aws:schemas:us-east-1:123456789012:schema/{REGISTRY}/{NAME}",
                "SchemaName": NAME,
                "SchemaVersion": "2",
                "Type": "OpenApi3",
                "LastModified": when,
                "VersionCreatedDate": when,
            },
            {"RegistryName": REGISTRY, "SchemaName": NAME, "SchemaVersion": "2"},
        )
        argv = ("--registry", REGISTRY, "--schema", NAME, "--version", "2", "--seed", "1")
        event = event_of(capsys, *argv, session=registry_session)
        stub.assert_no_pending_responses()
    assert_valid(event, TICKET)
    assert (event["source"], event["region"]) == ("com.example.support", "us-east-1")


def test_registry_on_the_moto_backend_says_to_use_a_file(capsys):
    """--backend moto has no Schema Registry: exit 2, with the command that saves the schema to a file."""
    argv = ("--registry", REGISTRY, "--schema", NAME, "--backend", "moto", "--endpoint-url", "http://127.0.0.1:9")
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert "has no Schema Registry" in err
    assert "aws schemas describe-schema" in err


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--schema", NAME), "--schema needs --registry"),
        (("--schema-file", TICKET, "--registry", REGISTRY), "--registry/--version go with --schema"),
        (("--schema-file", TICKET, "--override", "{priority: 1}"), "--override '{priority: 1}' is not JSON"),
        (("--schema-file", TICKET, "--override", "[1]"), "--override must be a JSON object"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    """Missing or clashing sources and non-JSON overrides: exit 2 with the message, nothing printed."""
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_no_source_is_an_argparse_usage_error(capsys):
    """Neither --schema nor --schema-file: argparse says one is required (exit 2)."""
    code, _, err = run(capsys)
    assert code == 2
    assert "one of the arguments --schema --schema-file is required" in err


def test_unknown_file_lists_the_schema_files_there(capsys):
    """A missing file: exit 1, listing the schema files in its folder."""
    code, out, err = run(capsys, "--schema-file", str(SCHEMAS / "ticket_create.json"))
    assert (code, out) == (1, "")
    assert "not found" in err
    assert "ticket_created.json" in err
    assert "video_published.yaml" in err


def test_unknown_event_ref_lists_the_components(capsys):
    """An unknown --event-ref: exit 1, listing the schema's components."""
    code, out, err = run(capsys, "--schema-file", TICKET, "--event-ref", "Ticket")
    assert (code, out) == (1, "")
    assert "event_ref 'Ticket' not found" in err
    listing = err.split("components: ", 1)[1].split("\n", 1)[0]
    assert sorted(listing.split(", ")) == ["AWSEvent", "Address", "Customer", "TicketCreated", "TicketLine"]


# -- a closed stdout ---------------------------------------------------------------------------------
def test_a_closed_pipe_ends_quietly():
    """`iatk mock-event ... | head` with the reader gone: no BrokenPipeError traceback, exit 1."""
    process = subprocess.Popen(
        [sys.executable, "-m", "iatk", "mock-event", "--schema-file", TICKET, "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # long before the child has imported iatk and printed
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1
        assert err == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
