"""Parity with aws-iatk 0.1.0's own Go unit tests and their recorded data, read from its sdist.

The sdist (on PyPI) carries ``internal/pkg/xray/testdata/trace01.json`` (a finished Step Functions
trace with four subsegments still ``in_progress``; aws-iatk's test builds 28 paths from it) and the
mock-event generators' tests (``internal/pkg/mock/event/*_test.go``: schemas and what each must
give). The data is not copied into this repository; these tests read it from the sdist.

Opt-in, since tests never reach the internet by default:

* ``IATK_AWS_IATK_SDIST=/path/to/aws-iatk-0.1.0.tar.gz`` (or the unpacked folder) reads a local copy;
* ``IATK_AWS_IATK_SDIST=download`` downloads it at test time (``pip download --no-binary :all:
  --no-deps aws-iatk==0.1.0``), as CI does.

Without either, every test here is skipped with that explanation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk import AwsIatk, IatkException
from iatk._aws import aws
from iatk.mock_events import EventSchema, clear_schema_cache
from iatk.trace import TraceTree

ENV = "IATK_AWS_IATK_SDIST"
XRAY = "src/iatk_src/internal/pkg/xray"
MOCK = "src/iatk_src/internal/pkg/mock/event"


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked aws-iatk 0.1.0 sdist (its top folder)."""
    where = os.environ.get(ENV, "")
    if not where:
        pytest.skip(f"opt-in: set {ENV}=download (fetches aws-iatk 0.1.0's sdist from PyPI) or to a local copy")
    folder = tmp_path_factory.mktemp("aws-iatk-sdist")
    if where == "download":
        fetched = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "aws-iatk==0.1.0"),
                *("-d", str(folder), "--quiet"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if fetched.returncode != 0:
            pytest.skip(f"could not download aws-iatk 0.1.0's sdist: {fetched.stderr.strip()[-300:]}")
        archive = next(folder.glob("aws-iatk-0.1.0.tar.gz"))
    else:
        archive = Path(where)
        if archive.is_dir():
            found = [p for p in (archive, *archive.glob("aws-iatk-0.1.0")) if (p / XRAY).is_dir()]
            if found:
                return found[0]
            archive = next(archive.glob("aws-iatk-0.1.0.tar.gz"), archive)
        if not archive.is_file():
            pytest.skip(f"{ENV}={where}: no aws-iatk-0.1.0.tar.gz or unpacked sdist there")
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data") if sys.version_info >= (3, 12) else tar.extractall(folder)
    return folder / "aws-iatk-0.1.0"


# -- trace01.json ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trace01(sdist: Path) -> dict[str, Any]:
    """trace01.json as a BatchGetTraces response (the file holds the decoded segments)."""
    raw = json.loads((sdist / XRAY / "testdata" / "trace01.json").read_text())
    return {
        "Traces": [
            {
                "Id": raw["Id"],
                "Duration": raw["Duration"],
                "LimitExceeded": raw["LimitExceeded"],
                "Segments": [{"Id": s["id"], "Document": json.dumps(s)} for s in raw["Segments"]],
            }
        ],
        "UnprocessedTraceIds": [],
    }


def go_paths(response: dict[str, Any]) -> list[tuple[str, ...]]:
    """aws-iatk's buildTree on the same segments, as its Go code does it (an independent oracle)."""
    segments = [json.loads(s["Document"]) for s in response["Traces"][0]["Segments"]]
    segments.sort(key=lambda s: s["start_time"])
    owner: dict[str, str] = {}

    def index(node: dict[str, Any], segment: str) -> None:
        for sub in node.get("subsegments") or []:
            owner[sub["id"]] = segment
            index(sub, segment)

    for segment in segments:
        owner[segment["id"]] = segment["id"]
        index(segment, segment["id"])
    children: dict[str, list[str]] = {s["id"]: [] for s in segments}
    for segment in segments[1:]:
        if segment.get("parent_id"):
            children[owner[segment["parent_id"]]].append(segment["id"])

    def walk(ident: str, trail: tuple[str, ...]) -> list[tuple[str, ...]]:
        here = (*trail, ident)
        return [here] if not children[ident] else [p for c in children[ident] for p in walk(c, here)]

    return walk(segments[0]["id"], ())


def test_trace01_builds_aws_iatk_s_28_paths(trace01):
    """Four subsegments still in_progress inside closed segments: the tree is built, they stay open."""
    tree = TraceTree.from_api(trace01)
    assert len(tree.paths) == 28
    assert len(tree.segments) == 31
    open_ones = [sub for s in tree.segments for sub in s.all_subsegments() if sub.in_progress]
    assert len(open_ones) == 4
    assert all(sub.end_time is None for sub in open_ones)
    assert Counter(tuple(s.id for s in p) for p in tree.paths) == Counter(go_paths(trace01))


def test_trace01_order_is_deterministic(trace01):
    """Siblings starting in the same millisecond (three at .519, two at .520) are ordered by id, whatever
    the response order (aws-iatk's unstable sort left them arbitrary)."""
    import random

    reference = [[s.id for s in p] for p in TraceTree.from_api(trace01).paths]
    for seed in range(5):
        shuffled = json.loads(json.dumps(trace01))
        random.Random(seed).shuffle(shuffled["Traces"][0]["Segments"])
        assert [[s.id for s in p] for p in TraceTree.from_api(shuffled).paths] == reference


def test_trace01_through_the_drop_in_matches_aws_iatk_s_records(trace01):
    """The drop-in (BatchGetTraces stubbed) against aws-iatk's own xray.Tree over the same Go paths."""
    xray = pytest.importorskip("aws_iatk.xray")
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    trace_id = trace01["Traces"][0]["Id"]
    with Stubber(aws(session).xray) as stub:
        stub.add_response("batch_get_traces", trace01, {"TraceIds": [trace_id]})
        ours = AwsIatk(session=session).get_trace_tree(f"Root={trace_id};Sampled=1").trace_tree
    documents = {s["Id"]: json.loads(s["Document"]) for s in trace01["Traces"][0]["Segments"]}
    paths = go_paths(trace01)
    theirs = xray.Tree(
        {
            "root": documents[paths[0][0]],
            "paths": [[documents[i] for i in path] for path in paths],
            "source_trace": {"id": trace_id, "duration": 6.413, "segments": list(documents.values())},
        }
    )
    by_ids = {tuple(s.id for s in path): path for path in ours.paths}
    assert len(by_ids) == len(theirs.paths) == 28
    fields = ("id", "name", "trace_id", "start_time", "end_time", "in_progress", "origin", "parent_id", "error")
    for path in theirs.paths:
        mine = by_ids[tuple(s.id for s in path)]
        for a, b in zip(path, mine, strict=True):
            assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
            assert (a.fault, a.throttle, a.aws, a.service) == (b.fault, b.throttle, b.aws, b.service)
            assert (a.http.response.status if a.http else None) == (b.http.response.status if b.http else None)
            assert len(a.subsegments or []) == len(b.subsegments)
    assert ours.root.id == theirs.root.id


# -- mock events: aws-iatk's Go test cases ----------------------------------------------------------------
def go_schemas(path: Path, variable: str) -> dict[str, str]:
    """``Test name -> schema text`` for each Go test function that assigns ``variable := `...```."""
    found: dict[str, str] = {}
    for match in re.finditer(r"func (Test\w+)\(t \*testing\.T\) \{(.*?)\n\}", path.read_text(), re.S):
        content = re.search(variable + r" := `(.*?)`", match.group(2), re.S)
        if content:
            found[match.group(1)] = content.group(1)
    return found


def generate(text: str, kind: str, event_ref: str | None, skip_optional: bool) -> dict[str, Any]:
    """The drop-in's generate_mock_event on ``text`` served as a registry schema (DescribeSchema stubbed)."""
    clear_schema_cache()
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    # kin-openapi reads JSON or YAML (two of the Go tests' schemas are not strict JSON): re-serialised
    content = json.dumps(EventSchema.from_text(text, syntax="yaml").document) if kind == "OpenApi3" else text
    with Stubber(aws(session).client("schemas")) as stub:
        stub.add_response(
            "describe_schema", {"Content": content, "Type": kind, "SchemaName": "S", "SchemaVersion": "1"}
        )
        return (
            AwsIatk(session=session)
            .generate_mock_event("r", "S", event_ref=event_ref, skip_optional=skip_optional)
            .event
        )


#: What aws-iatk's Go tests assert, test by test (their asserts, written out as the whole event).
OPENAPI_EXPECTED = {
    "TestSuccessfullStringSchema": {"name": ""},
    "TestSuccessfullEnumSchema": {"day": "Sunday"},
    "TestSuccessfullNumberSchema": {"test": 0},
    "TestSuccessfullArraySchema": {"test": []},
    "TestSuccessfullObjectSchema": {"testObject": {"test": ""}},
    "TestSuccessfullRefObjectSchema": {"name": "", "workPlace": {"company": ""}},
    "TestSuccessfullRequiredOnlySchema": {"age": 0, "dob": "", "name": ""},
}
JSONSCHEMA_EXPECTED = {
    "TestSuccessfulStringSchema": {"test": ""},
    "TestSuccessfulEnumSchema": {"test": "testEnum"},
    "TestSuccessfulNumberSchema": {"test": 0},
    "TestSuccessfulArraySchema": {"test": []},
    "TestSuccessfulObjectSchema": {"testObject": {"test": ""}},
    "TestSuccessfulRequiredOnlySchema": {"notRequired": "", "test": 0},
}


def test_openapi_cases_give_aws_iatk_s_events(sdist):
    schemas = go_schemas(sdist / MOCK / "openapi_test.go", "schemaContent")
    assert set(OPENAPI_EXPECTED) <= set(schemas)
    for name, expected in OPENAPI_EXPECTED.items():
        assert generate(schemas[name], "OpenApi3", "RandomEvent", False) == expected, name
    assert generate(schemas["TestSuccessfullRequiredOnlySchema"], "OpenApi3", "RandomEvent", True) == {"name": ""}


def test_jsonschema_cases_give_aws_iatk_s_events(sdist):
    schemas = go_schemas(sdist / MOCK / "jsonschema_test.go", "schemaString")
    assert set(JSONSCHEMA_EXPECTED) <= set(schemas)
    for name, expected in JSONSCHEMA_EXPECTED.items():
        assert generate(schemas[name], "JSONSchemaDraft4", None, False) == expected, name
    required_only = schemas["TestSuccessfulRequiredOnlySchema"]
    assert generate(required_only, "JSONSchemaDraft4", None, True) == {"test": 0}
    with pytest.raises(IatkException, match="error compiling schema"):
        generate(schemas["TestCompilationError"], "JSONSchemaDraft4", None, False)


def test_openapi_error_cases_give_aws_iatk_s_messages(sdist):
    """The error table of TestGenerateOpenApiEventErrors: each message is contained, as the Go test checks.

    Two rows cannot reach a registry schema (no content at all, content that is not JSON), so they
    are left out; the eventRef row is checked with event_ref="" as a suite passes it.
    """
    text = (sdist / MOCK / "openapi_test.go").read_text()
    rows = re.findall(
        r'"([^"]+)": \{\s*schemaContent: `(.*?)`,\s*eventRef:\s*"([^"]*)",\s*expectErr:\s*errors\.New\(\s*(".*?")\s*,?\s*\)',
        text,
        re.S,
    )
    checked = 0
    for name, content, event_ref, expected in rows:
        if name in {"missing SchemaContent", "error while loading schema"}:
            continue
        with pytest.raises(IatkException) as caught:
            generate(content, "OpenApi3", event_ref or None, False)
        assert json.loads(expected) in str(caught.value), name
        checked += 1
    assert checked == 5
