"""Benchmark: mock event generation time per event, for a large schema and for strategy() draws.

Run: python benchmarks/bench_mock_events.py  (prints a markdown table)

"Large" is a synthetic OpenAPI 3 AWSEvent of 400 properties over 40 components (nested objects,
arrays, enums, formats, patterns, a oneOf, an allOf) plus the repository's test schemas. Each event is
checked against its schema by the generator itself; the times include that check.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from iatk.mock_events import load_schema, mock_event, mock_events, strategy

SCHEMAS = Path(__file__).resolve().parents[1] / "tests" / "data" / "schemas"
N = 200


def large_schema(components: int = 40, fields: int = 10) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for c in range(components):
        props: dict[str, Any] = {}
        for f in range(fields):
            kind = f % 6
            if kind == 0:
                props[f"s{f}"] = {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}
            elif kind == 1:
                props[f"n{f}"] = {"type": "integer", "minimum": 0, "maximum": 10_000, "multipleOf": 5}
            elif kind == 2:
                props[f"e{f}"] = {"type": "string", "enum": ["a", "b", "c", "d"]}
            elif kind == 3:
                props[f"t{f}"] = {"type": "string", "format": "date-time"}
            elif kind == 4:
                props[f"a{f}"] = {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 5}
            else:
                props[f"o{f}"] = {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 8}]}
        if c + 1 < components and c % 4 != 3:
            props["child"] = {"$ref": f"#/components/schemas/C{c + 1}"}
        named[f"C{c}"] = {"type": "object", "required": list(props)[:3], "properties": props}
    named["AWSEvent"] = {
        "type": "object",
        "required": ["detail", "source", "detail-type", "id", "time"],
        "x-amazon-events-source": "bench.app",
        "x-amazon-events-detail-type": "Large",
        "properties": {
            "detail": {"allOf": [{"$ref": "#/components/schemas/C0"}, {"$ref": "#/components/schemas/C4"}]},
            **{
                key: {"type": "string"}
                for key in ("source", "detail-type", "id", "time", "region", "account", "version")
            },
        },
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Large", "version": "1"},
        "paths": {},
        "components": {"schemas": named},
    }


def per_event(action: Any, count: int) -> tuple[float, float]:
    samples = []
    for index in range(count):
        start = time.perf_counter()
        action(index)
        samples.append((time.perf_counter() - start) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9) - 1]


def _draws(loaded: Any) -> float:
    """Milliseconds per event Hypothesis draws from strategy() (its own overhead included)."""
    times: list[float] = []

    @settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(event=strategy(schema=loaded))
    def draw(event: dict[str, Any]) -> None:
        times.append(time.perf_counter())

    start = time.perf_counter()
    draw()
    return (time.perf_counter() - start) * 1000 / max(1, len(times))


def main() -> None:
    rows = []
    large = load_schema(schema_text=large_schema())
    rows.append(("large schema (400 properties), seeded", *per_event(lambda i: mock_event(schema=large, seed=i), N)))
    rows.append(("large schema, seed=None", *per_event(lambda i: mock_event(schema=large), N)))
    rows.append(
        (
            "large schema, mock_events(2, boundary=True) (per call)",
            *per_event(lambda i: mock_events(2, schema=large, boundary=True, seed=i), N // 4),
        )
    )
    for name in ("ticket_created.json", "combinators_2020_12.json", "aws_instance_state_change.json"):
        loaded = load_schema(schema_file=SCHEMAS / name)
        rows.append((f"{name}, seeded", *per_event(lambda i, s=loaded: mock_event(schema=s, seed=i), N)))
    for label, loaded in (
        ("large schema", large),
        ("ticket_created.json", load_schema(schema_file=SCHEMAS / "ticket_created.json")),
    ):
        drawn = _draws(loaded)
        rows.append((f"strategy() draw, {label}", drawn, float("nan")))
    print("| case | median ms / event | p90 ms |")
    print("| --- | ---: | ---: |")
    for label, median, p90 in rows:
        print(f"| {label} | {median:.2f} | {'' if p90 != p90 else f'{p90:.2f}'} |")


if __name__ == "__main__":
    main()
