"""The model's fast constructor: ``from_api`` writes the slots positionally, so its order must be the fields'."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from iatk.trace import Link, Segment, Subsegment
from iatk.trace._model import _frozen

LINK = {"trace_id": "1-6553f500-111111111111111111111111", "id": "b" * 16, "attributes": {"k": "v"}}


def as_fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


@pytest.mark.parametrize("flags", [(True, False, True, False, True), (False, True, False, True, False)])
def test_segment_from_api_fills_each_field_from_its_key(flags: tuple[bool, ...]) -> None:
    """Every key lands in the field of its name (two flag patterns catch swapped booleans)."""
    in_progress, error, fault, throttle, inferred = flags
    document = {
        "id": "a" * 16,
        "name": "checkout",
        "origin": "AWS::Lambda::Function",
        "parent_id": "c" * 16,
        "trace_id": "1-6553f100-3c8f1e2d4b5a69788796a5b4",
        "start_time": 1.5,
        "end_time": 4.0,
        "in_progress": in_progress,
        "error": error,
        "fault": fault,
        "throttle": throttle,
        "http": {"response": {"status": 200}},
        "annotations": {"a": 1},
        "metadata": {"m": 2},
        "aws": {"region": "eu-west-1"},
        "inferred": inferred,
        "links": [LINK],
        "cause": {"id": "e" * 16},
        "service": {"version": "1"},
        "user": "alice",
        "resource_arn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout",
    }
    segment = Segment.from_api(document)
    assert as_fields(segment) == {
        "id": "a" * 16,
        "name": "checkout",
        "origin": "AWS::Lambda::Function",
        "parent_id": "c" * 16,
        "trace_id": "1-6553f100-3c8f1e2d4b5a69788796a5b4",
        "start_time": 1.5,
        "end_time": 4.0,
        "duration": 2.5,
        "in_progress": in_progress,
        "error": error,
        "fault": fault,
        "throttle": throttle,
        "http": {"response": {"status": 200}},
        "annotations": {"a": 1},
        "metadata": {"m": 2},
        "aws": {"region": "eu-west-1"},
        "inferred": inferred,
        "children": (),
        "_subsegments": None,
        "links": (Link.from_api(LINK),),
        "cause": {"id": "e" * 16},
        "service": {"version": "1"},
        "user": "alice",
        "resource_arn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout",
        "document": document,
    }


@pytest.mark.parametrize("flags", [(True, False, True, False), (False, True, False, True)])
def test_subsegment_from_api_fills_each_field_from_its_key(flags: tuple[bool, ...]) -> None:
    in_progress, error, fault, throttle = flags
    nested = {"id": "d" * 16, "name": "inner", "start_time": 2.0, "end_time": 2.5}
    document = {
        "id": "a" * 16,
        "name": "DynamoDB",
        "namespace": "aws",
        "parent_id": "c" * 16,
        "start_time": 1.0,
        "end_time": 3.0,
        "in_progress": in_progress,
        "error": error,
        "fault": fault,
        "throttle": throttle,
        "http": {"request": {"method": "POST"}},
        "aws": {"operation": "GetItem"},
        "sql": {"url": "db"},
        "annotations": {"a": 1},
        "metadata": {"m": 2},
        "cause": "e" * 16,
        "links": [LINK],
        "subsegments": [nested],
    }
    sub = Subsegment.from_api(document)
    got = as_fields(sub)
    assert got.pop("subsegments") == (Subsegment.from_api(nested),)
    assert got == {
        "id": "a" * 16,
        "name": "DynamoDB",
        "namespace": "aws",
        "parent_id": "c" * 16,
        "start_time": 1.0,
        "end_time": 3.0,
        "duration": 2.0,
        "in_progress": in_progress,
        "error": error,
        "fault": fault,
        "throttle": throttle,
        "http": {"request": {"method": "POST"}},
        "aws": {"operation": "GetItem"},
        "sql": {"url": "db"},
        "annotations": {"a": 1},
        "metadata": {"m": 2},
        "cause": "e" * 16,
        "links": (Link.from_api(LINK),),
        "document": document,
    }


def test_frozen_rejects_a_value_count_that_does_not_match_the_fields() -> None:
    """A field added to the class but not to from_api fails loudly, not silently shifted."""
    with pytest.raises(ValueError):
        _frozen(Link, "1-6553f500-111111111111111111111111", "b" * 16, None)
    link = _frozen(Link, "1-6553f500-111111111111111111111111", "b" * 16, "child", {})
    assert link == Link("1-6553f500-111111111111111111111111", "b" * 16, "child", {})
    with pytest.raises(AttributeError):
        link.id = "other"  # type: ignore[misc]
