"""Matchers: EventBridge pattern semantics, validation, reasons, combinators, callables, explain."""

from __future__ import annotations

import json
from typing import Any

import pytest

import iatk
from iatk.events import Event
from iatk.matchers import (
    Matcher,
    MatchResult,
    Mismatch,
    anything_but,
    as_matcher,
    callable_matcher,
    cidr,
    equals_ignore_case,
    exists,
    explain,
    match,
    numeric,
    pattern,
    prefix,
    suffix,
    validate_pattern,
    wildcard,
)


def envelope(detail: Any = None, **top: Any) -> dict[str, Any]:
    """An EventBridge envelope as moto delivers it (no ``account``), with overrides."""
    doc: dict[str, Any] = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "plugin-complete",
        "source": "video.plugin",
        "time": "2026-11-22T14:30:52Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::bucket-a"],
        "detail": {} if detail is None else detail,
    }
    doc.update({key.replace("_", "-"): value for key, value in top.items()})
    return doc


def event_of(doc: Any, message_id: str | None = None) -> Event:
    """An Event whose body is ``doc`` as JSON."""
    return Event.from_body(json.dumps(doc), message_id=message_id)


# (id, raw pattern, event, expected, moto agrees) -- "moto agrees" marks the rows where moto 5.2.5's
# matcher is right (MOTO.md section 2 measured it on real routing), used as a second opinion below.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool, bool]] = [
    ("exact", {"source": ["video.plugin"]}, envelope(), True, True),
    ("exact-miss", {"source": ["video.other"]}, envelope(), False, True),
    ("exact-any-of", {"detail-type": ["a", "plugin-complete"]}, envelope(), True, True),
    ("prefix", {"detail-type": [{"prefix": "plugin-"}]}, envelope(), True, True),
    ("prefix-miss", {"detail-type": [{"prefix": "plugin-failed"}]}, envelope(), False, True),
    ("prefix-not-on-numbers", {"detail": {"n": [{"prefix": "1"}]}}, envelope({"n": 12}), False, True),
    ("suffix", {"detail-type": [{"suffix": "-complete"}]}, envelope(), True, True),
    ("suffix-miss", {"detail-type": [{"suffix": "-failed"}]}, envelope(), False, True),
    (
        "anything-but-list",
        {"detail": {"s": [{"anything-but": ["stopped", "failed"]}]}},
        envelope({"s": "running"}),
        True,
        True,
    ),
    (
        "anything-but-list-miss",
        {"detail": {"s": [{"anything-but": ["stopped", "failed"]}]}},
        envelope({"s": "failed"}),
        False,
        True,
    ),
    ("anything-but-prefix", {"region": [{"anything-but": {"prefix": "eu-"}}]}, envelope(), True, True),
    ("anything-but-prefix-miss", {"region": [{"anything-but": {"prefix": "us-"}}]}, envelope(), False, True),
    (
        "anything-but-suffix",
        {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}},
        envelope({"f": "a.jpg"}),
        True,
        True,
    ),
    (
        "anything-but-suffix-miss",
        {"detail": {"f": [{"anything-but": {"suffix": ".png"}}]}},
        envelope({"f": "a.png"}),
        False,
        True,
    ),
    ("anything-but-numeric", {"detail": {"n": [{"anything-but": [100, 200]}]}}, envelope({"n": 150}), True, True),
    ("anything-but-numeric-miss", {"detail": {"n": [{"anything-but": [100, 200]}]}}, envelope({"n": 200}), False, True),
    ("anything-but-needs-the-field", {"detail": {"s": [{"anything-but": "x"}]}}, envelope({}), False, True),
    (
        "anything-but-ignore-case",
        {"detail": {"s": [{"anything-but": {"equals-ignore-case": "DONE"}}]}},
        envelope({"s": "done"}),
        False,
        False,
    ),
    (
        "anything-but-wildcard",
        {"detail": {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        envelope({"p": "/src/app.py"}),
        True,
        False,
    ),
    ("numeric-range", {"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, envelope({"n": 5}), True, True),
    ("numeric-range-miss", {"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, envelope({"n": 5.5}), False, True),
    ("numeric-equals-float", {"detail": {"n": [{"numeric": ["=", 5]}]}}, envelope({"n": 5.0}), True, True),
    ("numeric-not-on-strings", {"detail": {"n": [{"numeric": [">", 0]}]}}, envelope({"n": "5"}), False, True),
    ("exact-number-matches-float", {"detail": {"n": [5]}}, envelope({"n": 5.0}), True, True),
    ("exists-true", {"detail": {"c": [{"exists": True}]}}, envelope({"c": 0}), True, True),
    ("exists-true-miss", {"detail": {"c": [{"exists": True}]}}, envelope({}), False, True),
    ("exists-false", {"detail": {"c": [{"exists": False}]}}, envelope({"d": 1}), True, True),
    ("exists-false-miss", {"detail": {"c": [{"exists": False}]}}, envelope({"c": None}), False, True),
    ("exists-true-not-on-objects", {"detail": {"c": [{"exists": True}]}}, envelope({"c": {"c1": 100}}), False, False),
    ("exists-false-on-objects", {"detail": {"c": [{"exists": False}]}}, envelope({"c": {"c1": 100}}), True, False),
    ("exists-false-empty-array", {"detail": {"c": [{"exists": False}]}}, envelope({"c": []}), True, False),
    ("wildcard-one-star", {"source": [{"wildcard": "video.*"}]}, envelope(), True, True),
    ("wildcard-two-stars", {"source": [{"wildcard": "v*.p*n"}]}, envelope(), True, True),
    ("wildcard-miss", {"source": [{"wildcard": "*.other"}]}, envelope(), False, True),
    ("wildcard-escaped-star", {"detail": {"k": [{"wildcard": "a\\*b"}]}}, envelope({"k": "axb"}), False, False),
    ("wildcard-escaped-star-literal", {"detail": {"k": [{"wildcard": "a\\*b"}]}}, envelope({"k": "a*b"}), True, False),
    ("equals-ignore-case", {"source": [{"equals-ignore-case": "VIDEO.Plugin"}]}, envelope(), True, True),
    ("prefix-ignore-case", {"source": [{"prefix": {"equals-ignore-case": "VIDEO."}}]}, envelope(), True, True),
    ("suffix-ignore-case", {"source": [{"suffix": {"equals-ignore-case": ".PLUGIN"}}]}, envelope(), True, True),
    (
        "array-any-element",
        {"resources": ["arn:aws:s3:::bucket-a"]},
        envelope(resources=["x", "arn:aws:s3:::bucket-a"]),
        True,
        True,
    ),
    ("array-any-element-miss", {"resources": ["arn:aws:s3:::bucket-z"]}, envelope(), False, True),
    ("nested", {"detail": {"order": {"status": ["shipped"]}}}, envelope({"order": {"status": "shipped"}}), True, True),
    (
        "nested-miss",
        {"detail": {"order": {"status": ["shipped"]}}},
        envelope({"order": {"status": "new"}}),
        False,
        True,
    ),
    ("null", {"detail": {"x": [None]}}, envelope({"x": None}), True, True),
    ("null-is-not-missing", {"detail": {"x": [None]}}, envelope({}), False, True),
    ("empty-string", {"detail": {"x": [""]}}, envelope({"x": ""}), True, True),
    ("empty-string-is-not-null", {"detail": {"x": [""]}}, envelope({"x": None}), False, True),
    ("or-top-level", {"$or": [{"source": ["nope"]}, {"detail-type": ["plugin-complete"]}]}, envelope(), True, True),
    ("or-top-level-miss", {"$or": [{"source": ["nope"]}, {"detail-type": ["nope"]}]}, envelope(), False, True),
    ("or-nested", {"detail": {"$or": [{"a": [1]}, {"b": [{"numeric": [">", 1]}]}]}}, envelope({"b": 2}), True, True),
    ("cidr-v4", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, envelope({"ip": "10.0.0.33"}), True, True),
    ("cidr-v4-miss", {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, envelope({"ip": "10.0.1.33"}), False, True),
    ("cidr-v6", {"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}, envelope({"ip": "2001:db8::1"}), True, False),
    ("cidr-not-an-ip", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, envelope({"ip": "ten"}), False, False),
    (
        "and-across-fields",
        {"source": ["video.plugin"], "detail-type": ["plugin-complete"], "detail": {"n": [1]}},
        envelope({"n": 1}),
        True,
        True,
    ),
    (
        "and-across-fields-one-fails",
        {"source": ["video.plugin"], "detail-type": ["plugin-complete"], "detail": {"n": [1]}},
        envelope({"n": 2}),
        False,
        True,
    ),
    ("string-is-not-number", {"detail": {"n": ["5"]}}, envelope({"n": 5}), False, True),
    ("number-is-not-string", {"detail": {"n": [5]}}, envelope({"n": "5"}), False, True),
    ("true-is-not-one", {"detail": {"n": [True]}}, envelope({"n": 1}), False, False),
    (
        "arrays-of-objects",
        {"detail": {"items": {"sku": ["x"]}}},
        envelope({"items": [{"sku": "y"}, {"sku": "x"}]}),
        True,
        False,
    ),
    (
        "arrays-of-objects-same-element",
        {"detail": {"items": {"sku": ["x"], "qty": [1]}}},
        envelope({"items": [{"sku": "x", "qty": 2}, {"sku": "y", "qty": 1}]}),
        False,
        False,
    ),
    (
        "arrays-of-arrays-of-objects",
        {"detail": {"items": {"sku": ["x"]}}},
        envelope({"items": [[{"sku": "y"}], [{"sku": "x"}]]}),
        True,
        False,
    ),
    (
        "exists-false-anywhere-in-array",
        {"detail": {"items": {"note": [{"exists": False}]}}},
        envelope({"items": [{"sku": "x"}, {"note": "n"}]}),
        False,
        False,
    ),
]


@pytest.mark.parametrize(
    ("pattern_", "document", "expected"), [case[1:4] for case in CASES], ids=[case[0] for case in CASES]
)
def test_pattern_semantics(pattern_, document, expected):
    """Each row matches (or not) as EventBridge decides."""
    result = pattern(pattern_)(event_of(document))
    assert result.matched is expected, result.reason
    assert bool(result) is expected
    assert (result.reason == "") is expected


def test_case_table_covers_the_kinds_moto_was_measured_on():
    """The table has at least 30 rows and one for each kind of pattern MOTO.md measured."""
    ids = {case[0] for case in CASES}
    assert len(CASES) >= 30
    kinds = {"exact", "prefix", "suffix", "anything-but-list", "anything-but-prefix", "anything-but-suffix",
             "anything-but-numeric", "numeric-range", "numeric-equals-float", "exists-true", "exists-false",
             "wildcard-one-star", "wildcard-two-stars", "equals-ignore-case", "prefix-ignore-case",
             "array-any-element", "nested", "null", "empty-string", "or-nested", "or-top-level", "cidr-v4",
             "and-across-fields", "string-is-not-number", "arrays-of-objects"}  # fmt: skip
    assert kinds <= ids


@pytest.mark.parametrize(
    ("pattern_", "document", "expected"),
    [case[1:4] for case in CASES if case[4]],
    ids=[case[0] for case in CASES if case[4]],
)
def test_moto_agrees_where_it_is_right(pattern_, document, expected):
    """moto's own matcher, right on these rows (MOTO.md), gives the same verdict as ours."""
    models = pytest.importorskip("moto.events.models")
    assert models.EventPattern.load(json.dumps(pattern_)).matches_event(document) is expected


def test_moto_is_wrong_on_arrays_of_objects_and_we_are_not():
    """The one case moto gets wrong (MOTO.md): a nested pattern against an array of objects."""
    models = pytest.importorskip("moto.events.models")
    raw = {"detail": {"items": {"sku": ["x"]}}}
    document = envelope({"items": [{"sku": "y"}, {"sku": "x"}]})
    assert models.EventPattern.load(json.dumps(raw)).matches_event(document) is False
    assert pattern(raw)(event_of(document)).matched is True


# --- match(**fields) ---------------------------------------------------------------------------------


def test_match_translates_python_keywords_to_envelope_keys():
    """detail_type= is detail-type; plain values match exactly; dicts nest into detail."""
    matcher = match(source="video.plugin", detail_type="plugin-complete", detail={"order": {"id": 42}})
    assert matcher(event_of(envelope({"order": {"id": 42}}))).matched
    assert not matcher(event_of(envelope({"order": {"id": 43}}))).matched
    assert matcher.pattern == {  # type: ignore[attr-defined]
        "source": ["video.plugin"],
        "detail-type": ["plugin-complete"],
        "detail": {"order": {"id": [42]}},
    }


def test_match_keeps_underscores_inside_detail():
    """Only envelope keys are translated: detail fields keep their underscores."""
    matcher = match(detail={"order_id": 7})
    assert matcher(event_of(envelope({"order_id": 7}))).matched
    assert not matcher(event_of(envelope({"order-id": 7}))).matched


def test_match_list_is_any_of_and_none_is_null():
    """A list matches any of its values; None matches a JSON null, not a missing field."""
    assert match(detail_type=["a", "plugin-complete"])(event_of(envelope())).matched
    assert match(detail={"x": None})(event_of(envelope({"x": None}))).matched
    assert not match(detail={"x": None})(event_of(envelope({}))).matched


def test_match_operator_helpers_and_raw_operator_dicts():
    """Helper dicts and raw operator dicts work as values, at any depth."""
    event = event_of(envelope({"size": 3, "name": "Clip.MP4", "ip": "10.1.2.3", "tags": ["a", "b"]}))
    assert match(
        source=prefix("video."),
        detail_type=suffix("complete"),
        region=anything_but(prefix("eu-")),
        detail={
            "size": numeric(gt=0, le=5),
            "name": wildcard("*.MP4"),
            "ip": cidr("10.0.0.0/8"),
            "tags": "b",
            "gone": exists(False),
        },
    )(event).matched
    assert match(detail={"name": equals_ignore_case("clip.mp4")})(event).matched
    assert match(detail={"name": {"suffix": {"equals-ignore-case": ".mp4"}}})(event).matched


def test_match_or_keyword():
    """$or can be spelled with ** and translates envelope keys in its branches."""
    matcher = match(**{"$or": [{"detail_type": "nope"}, {"source": "video.plugin"}]})
    assert matcher(event_of(envelope())).matched
    assert not matcher(event_of(envelope(source="x"))).matched


def test_match_pattern_attribute_is_a_valid_rule_pattern():
    """A match()'s .pattern is raw EventBridge syntax that pattern() accepts as is."""
    matcher = match(detail_type=("a", "b"), detail={"n": numeric(">", 1)})
    raw = json.loads(json.dumps(matcher.pattern))  # type: ignore[attr-defined]
    assert raw == {"detail-type": ["a", "b"], "detail": {"n": [{"numeric": [">", 1]}]}}
    validate_pattern(raw)


def test_match_without_fields_matches_everything():
    """match() with no fields accepts any event, even a transformed body."""
    assert match()(Event.from_body('"hello"')).matched
    assert match().describe() == "any event"


def test_match_rejects_bad_values_at_once():
    """A bad operator argument fails when the matcher is made, not when it runs."""
    with pytest.raises(iatk.PatternError, match=r"numeric operator must be one of"):
        match(detail={"n": {"numeric": ["~", 1]}})
    with pytest.raises(iatk.PatternError, match=r"\$or takes a list"):
        match(**{"$or": {"source": "x"}})


# --- helpers -----------------------------------------------------------------------------------------


def test_helpers_build_eventbridge_operator_dicts():
    """The short helpers return plain EventBridge operator dicts."""
    assert prefix("a") == {"prefix": "a"}
    assert prefix("a", ignore_case=True) == {"prefix": {"equals-ignore-case": "a"}}
    assert suffix("a", ignore_case=True) == {"suffix": {"equals-ignore-case": "a"}}
    assert anything_but("a") == {"anything-but": "a"}
    assert anything_but("a", "b") == {"anything-but": ["a", "b"]}
    assert anything_but([1, 2]) == {"anything-but": [1, 2]}
    assert anything_but(prefix("x")) == {"anything-but": {"prefix": "x"}}
    assert numeric(">", 0, "<=", 5) == {"numeric": [">", 0, "<=", 5]}
    assert numeric(ge=1, lt=2) == {"numeric": [">=", 1, "<", 2]}
    assert numeric(eq=5) == {"numeric": ["=", 5]}
    assert exists() == {"exists": True}
    assert exists(False) == {"exists": False}
    assert wildcard("a*b") == {"wildcard": "a*b"}
    assert equals_ignore_case("A") == {"equals-ignore-case": "A"}
    assert cidr("10.0.0.0/8") == {"cidr": "10.0.0.0/8"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: numeric(">", "1"), "needs a number"),
        (lambda: numeric(gt=5, lt=1), "range is empty"),
        (lambda: wildcard("a**b"), "consecutive"),
        (lambda: cidr("10.0.0.0/99"), "cidr takes"),
        (lambda: anything_but(), "at least one value"),
        (lambda: anything_but(None), "not null"),
        (lambda: anything_but("a", 1), "all strings or all numbers"),
        (lambda: prefix(5), "prefix takes a string"),  # type: ignore[arg-type]
        (lambda: exists("yes"), "true or false"),  # type: ignore[arg-type]
    ],
)
def test_helpers_validate_their_arguments(make, message):
    """A helper given a bad argument raises PatternError at once."""
    with pytest.raises(iatk.PatternError, match=message):
        make()


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where", "message"),
    [
        ([], "", "expected a JSON object"),
        ({}, "$", "empty object"),
        ({"source": "x"}, "$.source", 'write ["x"]'),
        ({"source": []}, "$.source", "empty list"),
        ({"detail": {}}, "$.detail", "empty object"),
        ({"source": [["x"]]}, "$.source[0]", "must be a string, number"),
        ({"source": [{"prefx": "a"}]}, "$.source[0]", "(did you mean 'prefix'?)"),
        ({"detail": {"items": [{"sku": "x"}]}}, "$.detail.items[0]", "nest the pattern without a list"),
        ({"source": [{"prefix": "a", "suffix": "b"}]}, "$.source[0]", "exactly one key"),
        ({"source": [{"prefix": 1}]}, "$.source[0].prefix", "takes a string"),
        ({"source": [{"prefix": {"ignore-case": "a"}}]}, "$.source[0].prefix", "equals-ignore-case"),
        ({"detail": {"n": [{"numeric": [">", 0, "<"]}]}}, "$.detail.n[0].numeric", "operator/number pairs"),
        ({"detail": {"n": [{"numeric": ["=", 1, ">", 0]}]}}, "$.detail.n[0].numeric", "stands alone"),
        ({"detail": {"n": [{"numeric": [">", 0, ">=", 1]}]}}, "$.detail.n[0].numeric", "one lower bound"),
        ({"detail": {"n": [{"numeric": [">", True]}]}}, "$.detail.n[0].numeric[1]", "needs a number"),
        ({"detail": {"n": [{"exists": "true"}]}}, "$.detail.n[0].exists", "true or false"),
        ({"detail": {"n": [{"wildcard": "a\\b"}]}}, "$.detail.n[0].wildcard", "backslash"),
        ({"detail": {"n": [{"cidr": "nope"}]}}, "$.detail.n[0].cidr", "cidr takes"),
        ({"detail": {"n": [{"anything-but": {"exists": True}}]}}, "$.detail.n[0].anything-but", "anything-but takes"),
        ({"detail": {"n": [{"anything-but": [True]}]}}, "$.detail.n[0].anything-but[0]", "not null, booleans"),
        ({"detail": {"n": [{"anything-but": {"prefix": [1]}}]}}, "$.detail.n[0].anything-but.prefix[0]", "string"),
        ({"$or": [{"source": ["a"]}]}, "$.$or", "at least two"),
        ({"$or": [{"source": ["a"]}, {"prefix": "b"}]}, "$.$or[1]", "not operators"),
        ({"$or": [{"source": ["a"]}, {}]}, "$.$or[1]", "empty object"),
        ({"detail": {"n": {"prefix": "a"}}}, "$.detail.n", 'write [{"prefix": "a"}]'),
        ({"source": [float("nan")]}, "$.source[0]", "not a JSON number"),
    ],
)
def test_validate_pattern_names_the_bad_part(raw, where, message):
    """Bad patterns raise PatternError with the JSON path of the bad part and what to write."""
    with pytest.raises(iatk.PatternError) as caught:
        validate_pattern(raw)
    text = str(caught.value)
    assert f"at {where}:" in text if where else "expected a JSON object" in text
    assert message in text


def test_validate_accepts_json_text_and_fields_named_like_operators():
    """JSON text is parsed; a field named "prefix" holding a list is a field, as in EventBridge."""
    validate_pattern('{"source": ["a"], "detail": {"prefix": ["x"]}}')
    assert pattern('{"detail": {"prefix": ["x"]}}')(event_of(envelope({"prefix": "x"}))).matched
    with pytest.raises(iatk.PatternError, match="not JSON"):
        validate_pattern("{source")
    with pytest.raises(iatk.PatternError, match="not JSON"):
        pattern("{source")


def test_pattern_error_is_a_value_error():
    """PatternError is catchable as ValueError."""
    with pytest.raises(ValueError, match="invalid event pattern"):
        validate_pattern({"source": "x"})


# --- reasons and scores ------------------------------------------------------------------------------


def test_reason_for_a_prefix_miss():
    """The reason names the field, what was expected and what came."""
    result = match(detail_type=prefix("plugin-complete"))(event_of(envelope(detail_type="plugin-failed")))
    assert result.reason == 'detail-type: expected prefix "plugin-complete", got "plugin-failed"'
    assert result.mismatches == (Mismatch("detail-type", 'expected prefix "plugin-complete", got "plugin-failed"'),)


def test_reason_for_a_missing_nested_field():
    """A missing field is reported as missing, with its full path."""
    result = match(detail={"order": {"id": 42}})(event_of(envelope({"other": 1})))
    assert result.reason == "detail.order.id: missing (expected 42)"


def test_reason_lists_every_differing_field_and_score_counts_matches():
    """Each differing field is one mismatch; the score is the share of fields that matched."""
    matcher = match(source="video.plugin", detail_type="x", detail={"a": 1, "b": 2})
    result = matcher(event_of(envelope({"a": 1, "b": 3})))
    assert [m.path for m in result.mismatches] == ["detail-type", "detail.b"]
    assert result.score == pytest.approx(0.5)
    assert result.diff() == 'detail-type: expected "x", got "plugin-complete"\ndetail.b: expected 2, got 3'


def test_reason_points_into_the_closest_array_element():
    """For arrays of objects, the reason shows the element that came closest."""
    raw = {"detail": {"items": {"sku": ["x"], "qty": [1]}}}
    result = pattern(raw)(event_of(envelope({"items": [{"sku": "y", "qty": 5}, {"sku": "x", "qty": 2}]})))
    assert result.reason == "detail.items[1].qty: expected 1, got 2"
    assert result.score == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("raw", "detail", "reason"),
    [
        ({"c": [{"exists": True}]}, {}, "detail.c: missing (expected it to exist)"),
        ({"c": [{"exists": True}]}, {"c": {"k": 1}}, 'detail.c: expected a value, got an object {"k": 1}'),
        ({"c": [{"exists": False}]}, {"c": 3}, "detail.c: expected to be absent, got 3"),
        ({"c": ["a"]}, {"c": {"k": 1}}, 'detail.c: expected "a", got an object {"k": 1}'),
        ({"c": ["a"]}, {"c": []}, 'detail.c: expected "a", got [] (no values)'),
        ({"c": ["a", "b"]}, {"c": "z"}, 'detail.c: expected one of "a", "b", got "z"'),
        ({"c": ["a", {"prefix": "b"}]}, {"c": "z"}, 'detail.c: expected "a" or prefix "b", got "z"'),
        ({"c": [{"numeric": [">", 0, "<", 9]}]}, {"c": 10}, "detail.c: expected numeric > 0 and < 9, got 10"),
        ({"c": [{"anything-but": ["a", "b"]}]}, {"c": "a"}, 'detail.c: expected anything-but one of "a", "b", got "a"'),
        ({"c": {"d": [1]}}, {"c": 5}, "detail.c.d: missing (expected 1; detail.c is 5, not an object)"),
    ],
)
def test_reasons_read_well(raw, detail, reason):
    """Each kind of miss has a reason a person can read."""
    result = pattern({"detail": raw})(event_of(envelope(detail)))
    assert result.reason.startswith(reason)


def test_or_reports_each_alternative():
    """A failed $or lists what each alternative missed."""
    raw = {"$or": [{"source": ["a"]}, {"detail-type": ["b"]}]}
    result = pattern(raw)(event_of(envelope()))
    assert result.reason == (
        '$or: no alternative matched (#1: source: expected "a", got "video.plugin" | '
        '#2: detail-type: expected "b", got "plugin-complete")'
    )


def test_transformed_string_body_says_it_is_not_an_envelope():
    """A pattern cannot match a plain string body, and the reason says why."""
    result = match(source="x")(Event.from_body('"order 42 shipped"', message_id="m-1"))
    assert not result.matched
    assert "not an EventBridge envelope" in result.reason
    assert '"order 42 shipped"' in result.reason


def test_transformed_json_body_is_matched_on_its_own_keys():
    """A transformed JSON-object body is matched as is; a miss adds the not-an-envelope note."""
    event = Event.from_body('{"orderId": 42, "status": "shipped"}', message_id="m-1")
    assert match(orderId=42)(event).matched
    result = match(orderId=41)(event)
    assert result.reason.startswith("orderId: expected 41, got 42")
    assert "not an EventBridge envelope" in result.reason


def test_pattern_test_takes_a_plain_dict():
    """PatternMatcher.test matches a plain envelope dict."""
    matcher = pattern({"source": ["video.plugin"]})
    assert matcher.test(envelope()).matched  # type: ignore[attr-defined]
    assert not matcher.test(envelope(source="x")).matched  # type: ignore[attr-defined]


# --- combinators -------------------------------------------------------------------------------------


def test_and_reports_only_the_failing_side():
    """& matches when both do, and its reason names only the side that failed."""
    both = match(source="video.plugin") & match(detail_type="nope")
    result = both(event_of(envelope()))
    assert not result.matched
    assert result.reason == 'detail-type: expected "nope", got "plugin-complete"'
    assert result.score == pytest.approx(0.5)
    assert (match(source="video.plugin") & match(detail_type="plugin-complete"))(event_of(envelope())).matched


def test_or_reports_both_sides():
    """| matches when either does; when neither does, both reasons are given."""
    either = match(source="a") | match(source="b")
    assert (either | match(source="video.plugin"))(event_of(envelope())).matched
    result = either(event_of(envelope()))
    assert result.reason == (
        'no alternative matched: [1] source: expected "a", got "video.plugin" | '
        '[2] source: expected "b", got "video.plugin"'
    )


def test_not_says_it_matched_but_should_not():
    """~ inverts, and says what matched when it should not have."""
    never = ~match(source="video.plugin")
    result = never(event_of(envelope()))
    assert not result.matched
    assert result.reason == 'matched but should not: source: "video.plugin"'
    assert never(event_of(envelope(source="x"))).matched
    assert ~never is never.inner  # type: ignore[attr-defined]


def test_combinators_flatten_and_describe():
    """Chained & and | flatten; describe() and repr() read as written."""
    combined = match(source="a") & match(detail_type="b") & match(region="c")
    assert len(combined.parts) == 3  # type: ignore[attr-defined]
    assert combined.describe() == '(source: "a") and (detail-type: "b") and (region: "c")'
    assert repr(combined) == "(match(source='a') & match(detail_type='b') & match(region='c'))"
    assert repr(~match(source="a") | match(source="b")) == "(~match(source='a') | match(source='b'))"


def test_combinators_accept_dicts_and_functions_on_either_side():
    """A raw pattern dict or a function combines with a matcher from either side."""
    event = event_of(envelope({"n": 1}))
    assert (match(source="video.plugin") & {"detail": {"n": [1]}})(event).matched
    assert ({"detail": {"n": [1]}} & match(source="video.plugin"))(event).matched
    assert ((lambda e: e.detail["n"] == 2) | match(source="video.plugin"))(event).matched
    assert not (match(source="video.plugin") & (lambda e: e.detail["n"] == 2))(event).matched


def test_describe_of_patterns():
    """describe() renders each field's condition with its path."""
    matcher = match(
        source=["a", "b"],
        detail_type=prefix("x"),
        detail={"n": numeric(">", 1), "s": anything_but(suffix(".png")), "$or": [{"p": 1}, {"q": exists()}]},
    )
    assert matcher.describe() == (
        'source: one of "a", "b", detail-type: prefix "x", detail.n: numeric > 1, '
        'detail.s: anything-but suffix ".png", (detail.p: 1 | detail.q: exists)'
    )


# --- callables ---------------------------------------------------------------------------------------


def check_order(event: Event) -> None:
    """An aws-iatk style assertion function."""
    assert event.detail["orderId"] == 42, f"order {event.detail['orderId']} is not 42"


def test_assert_style_function_that_passes_is_a_match():
    """A function that returns None without raising matches."""
    assert as_matcher(check_order)(event_of(envelope({"orderId": 42}))).matched


def test_assert_style_function_that_raises_gives_its_message():
    """AssertionError means no match; its message is the reason."""
    result = as_matcher(check_order)(event_of(envelope({"orderId": 41})))
    assert not result.matched
    # pytest's assertion rewriting adds the compared values on a second line; both are kept.
    assert result.reason.startswith("check_order raised AssertionError: order 41 is not 42")


def test_assertion_without_message():
    """An AssertionError without text still gives a reason naming the function."""

    def bare(event: Event) -> None:
        raise AssertionError

    assert as_matcher(bare)(event_of(envelope())).reason == "assertion failed in bare"


def test_bool_returning_function_false_is_not_a_match():
    """Returning False is a miss (aws-iatk 0.1.0 counted it as a match)."""
    result = as_matcher(lambda event: event.source == "nope")(event_of(envelope()))
    assert not result.matched
    assert result.reason.endswith("returned False")
    assert "<lambda at test_matchers.py:" in result.reason
    assert as_matcher(lambda event: event.source == "video.plugin")(event_of(envelope())).matched


def test_truthy_and_falsy_values_and_match_results():
    """Other return values count by truthiness; a returned MatchResult is used as is."""
    assert as_matcher(lambda event: [1])(event_of(envelope())).matched
    assert not as_matcher(lambda event: 0)(event_of(envelope())).matched
    custom = MatchResult(False, "custom reason", 0.7)
    assert as_matcher(lambda event: custom)(event_of(envelope())) is custom


def test_other_exceptions_propagate():
    """An error other than AssertionError is a bug in the test: it is raised, not swallowed."""
    with pytest.raises(KeyError):
        as_matcher(lambda event: event.detail["missing"])(event_of(envelope()))


def test_raw_body_functions_get_the_body_string():
    """callable_matcher(raw_body=True) passes the raw body, as aws-iatk's assertion_fn got it."""
    seen: list[Any] = []

    def check(body: str) -> None:
        seen.append(body)
        assert json.loads(body)["source"] == "video.plugin"

    event = event_of(envelope())
    assert callable_matcher(check, raw_body=True)(event).matched
    assert seen == [event.body]
    assert callable_matcher(check, raw_body=True).describe().endswith("(body) passes")


def test_callable_objects_are_named_by_their_class():
    """A callable object works and is named by its class in reasons."""

    class Never:
        def __call__(self, event: Event) -> bool:
            return False

    assert as_matcher(Never())(event_of(envelope())).reason == "Never returned False"


# --- as_matcher ----------------------------------------------------------------------------------------


def test_as_matcher_accepts_none_matchers_and_dicts():
    """None matches all, a Matcher is itself, a dict is a validated raw pattern."""
    anything = as_matcher(None)
    assert anything(Event.from_body("not json")).matched
    existing = match(source="a")
    assert as_matcher(existing) is existing
    assert as_matcher({"source": ["video.plugin"]})(event_of(envelope())).matched
    with pytest.raises(iatk.PatternError, match="use iatk.match"):
        as_matcher({"source": "video.plugin"})


@pytest.mark.parametrize("bad", ["plugin-complete", 5, ["source"]])
def test_as_matcher_rejects_what_is_not_a_matcher(bad):
    """A string, a number or a list is not a matcher; the error says what is."""
    with pytest.raises(iatk.PatternError, match="matcher"):
        as_matcher(bad)


def test_callable_matcher_rejects_non_callables():
    """callable_matcher needs a function."""
    with pytest.raises(iatk.PatternError, match="needs a function"):
        callable_matcher("x")  # type: ignore[arg-type]


def test_custom_matcher_subclass():
    """A Matcher subclass only needs __call__ and describe, and combines like the others."""

    class LargeOrder(Matcher):
        def __call__(self, event: Event) -> MatchResult:
            ok = event.detail.get("total", 0) > 100
            return MatchResult(ok, "" if ok else "total too small", 1.0 if ok else 0.0)

        def describe(self) -> str:
            return "a large order"

    combined = LargeOrder() & match(source="video.plugin")
    assert combined(event_of(envelope({"total": 500}))).matched
    assert combined(event_of(envelope({"total": 5}))).reason == "total too small"
    assert repr(LargeOrder()) == "<LargeOrder: a large order>"


# --- explain -----------------------------------------------------------------------------------------


def test_explain_orders_nearest_miss_first():
    """explain() lists events by score, closest first, each with its differing fields."""
    matcher = match(source="video.plugin", detail_type="plugin-complete", detail={"n": 1})
    far = event_of(envelope({"n": 2}, id="far", source="x", detail_type="y"))
    near = event_of(envelope({"n": 2}, id="near"))
    text = explain(matcher, [far, near])
    lines = text.splitlines()
    assert lines[0] == "2 events received, none matched; nearest miss first:"
    assert lines[1].startswith("  1. id=near source='video.plugin' detail-type='plugin-complete' body=")
    assert lines[2] == "     detail.n: expected 1, got 2"
    assert lines[3].startswith("  2. id=far ")
    assert lines[4:] == [
        '     source: expected "video.plugin", got "x"',
        '     detail-type: expected "plugin-complete", got "y"',
        "     detail.n: expected 1, got 2",
    ]


def test_explain_marks_matches_truncates_and_limits():
    """Matches come first and say so; long bodies are cut; past the limit, events are counted."""
    matcher = match(detail={"n": 1})
    events = [event_of(envelope({"n": i, "pad": "x" * 500}, id=f"e{i}")) for i in range(5)]
    text = explain(matcher, events, limit=2, width=40)
    lines = text.splitlines()
    assert lines[0] == "5 events received, 1 matched; nearest miss first:"
    assert lines[1].startswith("  1. id=e1 ")
    assert lines[2] == "     matched"
    assert lines[3].startswith("  2. id=e0 ")
    assert lines[-1] == "  … and 3 more not shown"
    assert all(len(line) < 140 for line in lines)


def test_explain_shows_every_event_by_default():
    """Without a limit, explain() lists all the events (15 here), none left out."""
    events = [event_of(envelope({"n": i}, id=f"e{i}")) for i in range(15)]
    text = explain(match(detail={"n": 99}), events)
    assert text.splitlines()[0] == "15 events received, none matched; nearest miss first:"
    assert all(f"id=e{i} " in text for i in range(15))
    assert "more not shown" not in text


def test_explain_with_no_events_and_with_transformed_bodies():
    """No events says so; a transformed body is shown as not an envelope."""
    assert explain(None, []) == "no events were received"
    text = explain(match(source="a"), [Event.from_body('"order 42 shipped"', message_id="m-7")])
    assert "id=m-7 (not an EventBridge envelope)" in text
    assert "so no pattern can match it" in text


def test_explain_shows_function_reasons():
    """A function matcher's reason shows up in explain()."""
    text = explain(check_order, [event_of(envelope({"orderId": 1}))])
    assert "check_order raised AssertionError: order 1 is not 42" in text


# --- the operator table is the single source of the operators ---------------------------------------

#: A valid argument for each operator's helper (a new operator needs one here).
HELPER_ARGS: dict[str, tuple[Any, ...]] = {
    "anything-but": ("failed",),
    "cidr": ("10.0.0.0/24",),
    "equals-ignore-case": ("Order",),
    "exists": (True,),
    "numeric": (">", 0),
    "prefix": ("plugin-",),
    "suffix": (".png",),
    "wildcard": ("*.png",),
}


def test_every_operator_in_the_table_is_accepted_and_has_an_exported_helper():
    """OPERATORS is the table's names; each one's helper writes it, validates, and is public."""
    from iatk.matchers._operators import TABLE

    assert tuple(sorted(TABLE)) == iatk.matchers.OPERATORS
    assert set(HELPER_ARGS) == set(TABLE)
    for name, operator in TABLE.items():
        helper = operator.helper
        assert helper.__name__ in iatk.matchers.__all__, name
        assert helper.__name__ in iatk.__all__, name
        assert getattr(iatk, helper.__name__) is helper
        written = helper(*HELPER_ARGS[name])
        assert list(written) == [name]
        validate_pattern({"detail": {"field": [written]}})


def test_unknown_operator_lists_the_tables_names():
    """The unknown-operator message lists exactly the table's operators."""
    from iatk.matchers._operators import TABLE

    with pytest.raises(iatk.PatternError) as err:
        validate_pattern({"source": [{"prefx": "a"}]})
    assert f"operators are: {', '.join(sorted(TABLE))} (did you mean 'prefix'?)" in str(err.value)


def test_one_table_entry_adds_an_operator(monkeypatch: pytest.MonkeyPatch):
    """An operator added to the table alone is validated, matched, named in messages and in match()."""
    from dataclasses import dataclass

    from iatk.matchers._operators import TABLE, Condition, Operator

    @dataclass(frozen=True)
    class Shout(Condition):
        text: str

        def accepts(self, value: Any) -> bool:
            return value == self.text.upper()

        def describe(self) -> str:
            return f"shout {self.text!r}"

    def compile_shout(value: Any, path: str) -> Condition:
        if not isinstance(value, str):
            raise iatk.PatternError(f"invalid event pattern at {path}: shout takes a string")
        return Shout(value)

    def shout(text: str) -> dict[str, Any]:
        return {"shout": text}

    monkeypatch.setitem(TABLE, "shout", Operator(compile_shout, shout))
    validate_pattern({"source": [{"shout": "orders"}]})
    assert pattern({"source": [{"shout": "orders"}]})(event_of(envelope(source="ORDERS")))
    missed = match(source=shout("orders"))(event_of(envelope(source="orders")))
    assert missed.reason == "source: expected shout 'orders', got \"orders\""
    with pytest.raises(iatk.PatternError, match=r"at \$\.source\[0\]\.shout: shout takes a string"):
        validate_pattern({"source": [{"shout": 5}]})
    with pytest.raises(iatk.PatternError, match="an operator must be inside a list"):
        validate_pattern({"source": {"shout": "orders"}})
    with pytest.raises(iatk.PatternError) as err:
        validate_pattern({"source": [{"shou": "a"}]})
    assert "operators are: anything-but, cidr, equals-ignore-case, exists, numeric, prefix, shout, suffix" in str(
        err.value
    )


# --- issue 19: the last EventBridge edge cases -------------------------------------------------------

ARRAY_CONSISTENCY = [
    # (pattern, detail, matches on EventBridge)
    (  # exists:false after a field that chose the element: only that element counts
        {"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}},
        {"employees": [{"firstName": "John", "ids": [1000]}, {"firstName": "Anna"}]},
        True,
    ),
    (  # the chosen element has the field: no match
        {"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna", "ids": [1]}]},
        False,
    ),
    (  # no element has it
        {"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna"}]},
        True,
    ),
    (  # a field that sorts before the others chooses no element yet: every element is in play
        {"employees": {"aaa": [{"exists": False}], "firstName": ["Anna"]}},
        {"employees": [{"aaa": 1, "firstName": "John"}, {"firstName": "Anna"}]},
        False,
    ),
    (  # the choice carries into nested objects of the same element
        {"a": {"name": ["x"], "z": {"c": [{"exists": False}]}}},
        {"a": [{"name": "y", "z": {"c": 1}}, {"name": "x", "z": {"d": 2}}]},
        True,
    ),
]


@pytest.mark.parametrize(("raw", "detail", "expected"), ARRAY_CONSISTENCY)
def test_exists_false_sees_only_the_array_element_already_chosen(raw, detail, expected):
    """event-ruler keeps array consistency: after a field matched in one element, exists:false looks only there."""
    result = pattern({"detail": raw})(event_of(envelope(detail)))
    assert result.matched is expected, result.reason


IGNORE_CASE = [
    # (operator, event value, matches): each pattern character may be its lower or upper form
    ({"equals-ignore-case": "ῆ"}, "Η͂", True),  # U+1FC6 upper-cases to U+0397 U+0342
    ({"equals-ignore-case": "ῆ"}, "ῆ", True),
    ({"equals-ignore-case": "Η͂"}, "ῆ", False),  # each pattern char alone: U+0397 → η, U+0342 stays
    ({"equals-ignore-case": "ß"}, "SS", True),
    ({"equals-ignore-case": "ß"}, "ss", False),  # values are not folded
    ({"equals-ignore-case": "İ"}, "i̇", True),  # U+0130 lower-cases to i + U+0307
    ({"equals-ignore-case": "Straße"}, "STRASSE", True),
    ({"prefix": {"equals-ignore-case": "ῆa"}}, "Η͂Abc", True),
    ({"suffix": {"equals-ignore-case": "xß"}}, "abcXSS", True),
    ({"suffix": {"equals-ignore-case": "xß"}}, "abcXss", False),
    ({"anything-but": {"equals-ignore-case": "ῆ"}}, "Η͂", False),
    ({"anything-but": {"equals-ignore-case": ["ß", "q"]}}, "SS", False),
    ({"anything-but": {"equals-ignore-case": ["ß", "q"]}}, "ss", True),
    ({"equals-ignore-case": "a.b"}, "AxB", False),  # the value is literal text, not a regex
]


@pytest.mark.parametrize(("operator", "value", "expected"), IGNORE_CASE)
def test_ignore_case_uses_each_characters_case_forms(operator, value, expected):
    """Ignore-case operators accept, per pattern character, its lower- or upper-case form, as event-ruler does."""
    assert pattern({"detail": {"a": [operator]}})(event_of(envelope({"a": value}))).matched is expected


REFUSED = [
    ({"a": [{"anything-but": {"prefix": ""}}]}, "$.detail.a[0].anything-but.prefix", "non-empty"),
    ({"a": [{"anything-but": {"suffix": ""}}]}, "$.detail.a[0].anything-but.suffix", "non-empty"),
    ({"a": [{"anything-but": {"prefix": ["x", ""]}}]}, "$.detail.a[0].anything-but.prefix[1]", "non-empty"),
    ({"a": [{"anything-but": {"suffix": ["", "y"]}}]}, "$.detail.a[0].anything-but.suffix[0]", "non-empty"),
    ({"a": [{"numeric": ["<", 1, ">", 0]}]}, "$.detail.a[0].numeric", 'write [">", 0, "<", 1]'),
    ({"a": [{"numeric": ["<=", 1, ">=", 0]}]}, "$.detail.a[0].numeric", "lower bound first"),
    ({"a": [{"numeric": [">", 0, "<", 1, "<", 2]}]}, "$.detail.a[0].numeric", ""),
    ({"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}, "$.detail.a", "Rule is too complex"),
    ({"a": [{"anything-but": {"wildcard": "*:*:*:*:*:*:*"}}]}, "$.detail.a", "Rule is too complex"),
    ({"a": [{"NUMERIC": [">", 1]}]}, "$.detail.a[0]", "did you mean 'numeric'?"),
    ({"a": [{"EXISTS": True}]}, "$.detail.a[0]", "did you mean 'exists'?"),
    ({"a": [{"Prefix": "x"}]}, "$.detail.a[0]", "did you mean 'prefix'?"),
]


@pytest.mark.parametrize(("raw", "where", "words"), REFUSED)
def test_patterns_eventbridge_refuses_are_refused(raw, where, words):
    """What PutRule refuses is refused here, naming the place."""
    with pytest.raises(iatk.PatternError) as caught:
        validate_pattern({"detail": raw})
    assert f"at {where}:" in str(caught.value)
    assert words in str(caught.value)


ACCEPTED = [
    {"a": [{"prefix": ""}]},  # a plain empty prefix is fine
    {"a": [{"anything-but": ""}]},
    {"a": [{"numeric": [">", 0, "<", 1]}]},
    {"a": [{"numeric": ["<", 1]}]},
    {"a": [{"wildcard": "*:stack/a/*"}, {"wildcard": "*:stack/b/*"}, {"wildcard": "*:stack/c/*"}]},
    {"a": [{"wildcard": "*a*a*a*"}]},
    {"a": [{"wildcard": "arn:aws:s3:::bucket/*.png"}]},
]


@pytest.mark.parametrize("raw", ACCEPTED)
def test_patterns_eventbridge_accepts_are_accepted(raw):
    validate_pattern({"detail": raw})


def test_wildcard_complexity_is_counted_per_field_across_or_branches():
    """Three `*:stack/X/*` in one field pass (rated 9), a fourth (12) is too complex, also spread over $or."""
    from iatk.matchers._complexity import wildcard_complexity

    three = ["*:stack/a/*", "*:stack/b/*", "*:stack/c/*"]
    assert wildcard_complexity(three) <= 10 < wildcard_complexity([*three, "*:stack/d/*"])
    assert wildcard_complexity(["*"]) < wildcard_complexity(["*:*"]) < wildcard_complexity(["*:*:*"])
    split = {"$or": [{"a": [{"wildcard": w}]} for w in [*three, "*:stack/d/*"]]}
    with pytest.raises(iatk.PatternError, match="too complex"):
        validate_pattern(split)
    validate_pattern({"$or": [{"a": [{"wildcard": w}]} for w in three] + [{"b": [{"wildcard": "*:stack/d/*"}]}]})


def test_or_combinations_over_1000_are_refused():
    """Each $or multiplies the plain patterns a rule stands for; EventBridge stops at 1,000."""
    ten = [{"f": [i]} for i in range(10)]
    validate_pattern({"a": {"$or": ten}, "b": {"$or": ten}, "c": {"$or": ten}})  # exactly 1,000
    with pytest.raises(iatk.PatternError, match="1100 combinations"):
        validate_pattern({"a": {"$or": ten}, "b": {"$or": ten}, "c": {"$or": [*ten, {"g": [1]}]}})
    with pytest.raises(iatk.PatternError, match="1210 combinations"):
        validate_pattern({"$or": [*ten, {"x": [1]}], "b": {"$or": [*ten, {"x": [1]}]}, "c": {"$or": ten}})


@pytest.mark.parametrize("value", [5, None, "10.0.0.0/33", "bad", ["10.0.0.0/8"]])
def test_bad_cidr_says_its_message_once(value):
    with pytest.raises(iatk.PatternError) as caught:
        validate_pattern({"detail": {"ip": [{"cidr": value}]}})
    text = str(caught.value)
    assert text.count("invalid event pattern") == 1
    assert text.count("cidr takes") == 1


def test_explain_says_the_transformed_body_note_once():
    """Many misses on bodies that are not envelopes: the note comes once, under the listing."""
    matcher = match(detail={"n": 1})
    events = [event_of({"orderId": i}, message_id=f"m{i}") for i in range(3)]
    text = explain(matcher, events)
    assert text.count("not EventBridge envelopes") == 1
    assert "3 of these bodies" in text
    assert "input transformation?)" not in text
    # one event's own result still says it
    assert "not an EventBridge envelope" in matcher(events[0]).reason
