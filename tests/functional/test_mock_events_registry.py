"""mock_event from the Schema Registry, through botocore's Stubber on iatk's own schemas client.

moto has no Schemas service (MOTO.md §6), so the AWS boundary is stubbed with responses shaped like
AWS's: DescribeSchema returns the schema as JSON text in ``Content``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk._aws import aws
from iatk.exceptions import AwsError, SchemaError
from iatk.mock_events import clear_schema_cache, load_schema, mock_event

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
REGISTRY = "discovered-schemas"
NAME = "com.example.support@TicketCreated"
ARN = f"arn:aws:schemas:us-east-1:123456789012:schema/{REGISTRY}/{NAME}"
WHEN = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)


def describe(version: str, content: dict[str, Any], kind: str = "OpenApi3") -> dict[str, Any]:
    """A DescribeSchema response as AWS sends it."""
    return {
        "Content": json.dumps(content),
        "Description": "Discovered by EventBridge schema discovery",
        "LastModified": WHEN,
        "SchemaArn": ARN,
        "SchemaName": NAME,
        "SchemaVersion": version,
        "Tags": {},
        "Type": kind,
        "VersionCreatedDate": WHEN,
    }


def not_found(stub: Stubber, operation: str, message: str, params: dict[str, Any]) -> None:
    """Queue a 404 NotFoundException for ``operation``."""
    stub.add_client_error(
        operation,
        service_error_code="NotFoundException",
        service_message=message,
        http_status_code=404,
        expected_params=params,
    )


@pytest.fixture
def ticket() -> dict[str, Any]:
    """The AWS-style OpenAPI ticket schema."""
    return json.loads((SCHEMAS / "ticket_created.json").read_text())


@pytest.fixture
def session() -> boto3.Session:
    """A session that can never reach AWS unnoticed: every call goes to the Stubber."""
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def stub(session: boto3.Session) -> Iterator[Stubber]:
    """A Stubber on the schemas client iatk caches for ``session``; all queued responses must be used."""
    with Stubber(aws(session).schemas) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_latest_version_is_read_and_cached_under_both_keys(
    session: boto3.Session, stub: Stubber, ticket: dict[str, Any]
):
    """No version reads the latest; asking again, or for that version by number, makes no request."""
    stub.add_response("describe_schema", describe("3", ticket), {"RegistryName": REGISTRY, "SchemaName": NAME})
    first = mock_event(REGISTRY, NAME, session=session, seed=1)
    assert first["source"] == "com.example.support"
    assert first["detail-type"] == "TicketCreated"
    # the Stubber has nothing queued now: any request would raise
    assert mock_event(REGISTRY, NAME, session=session, seed=1) == first
    assert mock_event(REGISTRY, NAME, "3", session=session, seed=1) == first
    assert mock_event(REGISTRY, NAME, 3, session=session, seed=1) == first


def test_explicit_version_is_requested(session: boto3.Session, stub: Stubber, ticket: dict[str, Any]):
    """An explicit version is sent as SchemaVersion and recorded on the loaded schema."""
    older = json.loads(json.dumps(ticket))
    older["components"]["schemas"]["TicketCreated"]["required"] = ["ticketId"]
    older["components"]["schemas"]["TicketCreated"]["properties"] = {"ticketId": {"type": "string", "format": "uuid"}}
    stub.add_response(
        "describe_schema", describe("2", older), {"RegistryName": REGISTRY, "SchemaName": NAME, "SchemaVersion": "2"}
    )
    loaded = load_schema(REGISTRY, NAME, "2", session=session)
    assert (loaded.registry, loaded.name, loaded.version, loaded.arn) == (REGISTRY, NAME, "2", ARN)
    assert list(mock_event(schema=loaded)["detail"]) == ["ticketId"]


def test_json_schema_draft4_registry_schema(session: boto3.Session, stub: Stubber):
    """A JSONSchemaDraft4 registry schema generates from its root."""
    content = json.loads((SCHEMAS / "order_shipped_draft4.json").read_text())
    stub.add_response(
        "describe_schema", describe("1", content, "JSONSchemaDraft4"), {"RegistryName": REGISTRY, "SchemaName": NAME}
    )
    event = mock_event(REGISTRY, NAME, session=session, skip_optional=True)
    assert event["source"] == "com.example.orders"
    assert isinstance(event["detail"]["expedited"], bool)


def test_unknown_schema_lists_the_registrys_schemas_over_pages(session: boto3.Session, stub: Stubber):
    """A missing schema lists every schema of the registry (all pages), the closest name first."""
    not_found(
        stub,
        "describe_schema",
        "Schema with name com.example.support@TicketCreatd does not exist.",
        {"RegistryName": REGISTRY, "SchemaName": "com.example.support@TicketCreatd"},
    )
    page = {
        "Schemas": [{"SchemaName": "aws.s3@ObjectCreated", "SchemaArn": "arn:1", "VersionCount": 1}],
        "NextToken": "p2",
    }
    stub.add_response("list_schemas", page, {"RegistryName": REGISTRY})
    page2 = {"Schemas": [{"SchemaName": NAME, "SchemaArn": ARN, "VersionCount": 3}]}
    stub.add_response("list_schemas", page2, {"RegistryName": REGISTRY, "NextToken": "p2"})
    with pytest.raises(SchemaError) as caught:
        mock_event(REGISTRY, "com.example.support@TicketCreatd", session=session)
    assert f"schemas in '{REGISTRY}': {NAME}, aws.s3@ObjectCreated" in str(caught.value)
    assert caught.value.code == "NotFoundException"
    assert caught.value.__cause__ is not None


def test_unknown_version_lists_versions(session: boto3.Session, stub: Stubber):
    """A missing version lists the versions that exist."""
    not_found(
        stub,
        "describe_schema",
        "Version 9 does not exist.",
        {"RegistryName": REGISTRY, "SchemaName": NAME, "SchemaVersion": "9"},
    )
    versions = [
        {"SchemaArn": ARN, "SchemaName": NAME, "SchemaVersion": v, "Type": "OpenApi3"} for v in ("10", "2", "1")
    ]
    stub.add_response(
        "list_schema_versions", {"SchemaVersions": versions}, {"RegistryName": REGISTRY, "SchemaName": NAME}
    )
    with pytest.raises(
        SchemaError, match=r"version '9' in registry 'discovered-schemas' not found; versions: 1, 2, 10"
    ):
        mock_event(REGISTRY, NAME, "9", session=session)


def test_unknown_registry_lists_registries(session: boto3.Session, stub: Stubber):
    """A missing registry lists the registries of the region."""
    not_found(
        stub,
        "describe_schema",
        "Registry with name discovered does not exist.",
        {"RegistryName": "discovered", "SchemaName": NAME},
    )
    not_found(stub, "list_schemas", "Registry with name discovered does not exist.", {"RegistryName": "discovered"})
    registries = [{"RegistryName": r, "RegistryArn": f"arn:{r}"} for r in ("aws.events", REGISTRY, "orders")]
    stub.add_response("list_registries", {"Registries": registries}, {})
    with pytest.raises(
        SchemaError, match=r"no registry 'discovered' in us-east-1; registries: discovered-schemas, aws.events, orders"
    ):
        mock_event("discovered", NAME, session=session)


def test_other_aws_errors_keep_their_code(session: boto3.Session, stub: Stubber):
    """AccessDenied is an AwsError carrying the AWS code, not a not-found."""
    stub.add_client_error(
        "describe_schema", service_error_code="ForbiddenException", service_message="no", http_status_code=403
    )
    with pytest.raises(AwsError, match="schemas:DescribeSchema registry='r' schema='s' failed") as caught:
        mock_event("r", "s", session=session)
    assert caught.value.code == "ForbiddenException"


def test_listing_failure_still_reports_the_not_found(session: boto3.Session, stub: Stubber):
    """If listing what exists is denied, the not-found is still raised with both reasons."""
    not_found(stub, "describe_schema", "Schema with name s does not exist.", {"RegistryName": "r", "SchemaName": "s"})
    stub.add_client_error(
        "list_schemas", service_error_code="ForbiddenException", service_message="denied", http_status_code=403
    )
    with pytest.raises(
        SchemaError, match=r"not found \(NotFoundException: .*listing what exists failed too: ForbiddenException"
    ):
        mock_event("r", "s", session=session)


def test_cache_is_per_session_and_can_be_cleared(session: boto3.Session, stub: Stubber, ticket: dict[str, Any]):
    """Another session reads for itself; clear_schema_cache forgets what was read."""
    stub.add_response("describe_schema", describe("3", ticket), {"RegistryName": REGISTRY, "SchemaName": NAME})
    mock_event(REGISTRY, NAME, session=session)
    other = boto3.Session(aws_access_key_id="y", aws_secret_access_key="y", region_name="us-east-1")
    with Stubber(aws(other).schemas) as other_stub:
        other_stub.add_response(
            "describe_schema", describe("4", ticket), {"RegistryName": REGISTRY, "SchemaName": NAME}
        )
        assert load_schema(REGISTRY, NAME, session=other).version == "4"
        other_stub.assert_no_pending_responses()
    clear_schema_cache()
    stub.add_response("describe_schema", describe("5", ticket), {"RegistryName": REGISTRY, "SchemaName": NAME})
    assert load_schema(REGISTRY, NAME, session=session).version == "5"


def test_registry_content_that_is_not_json(session: boto3.Session, stub: Stubber):
    """A Content that is not JSON names the registry schema."""
    response = describe("1", {})
    response["Content"] = "{not json"
    stub.add_response("describe_schema", response, {"RegistryName": REGISTRY, "SchemaName": NAME})
    with pytest.raises(SchemaError, match=rf"registry '{REGISTRY}' schema '{NAME}' version '1' is not valid JSON"):
        mock_event(REGISTRY, NAME, session=session)
