"""The canary's detail substitutes cleanly into any input template (issue 16 item 6)."""

from __future__ import annotations

import json

import pytest

from iatk.listener._readiness import Canary, placeholder_quoting

ID = "iatk_eb_0123456789abcdefghij"


def plan(template: str, paths: dict[str, str]) -> tuple[dict[str, object], bool]:
    canary = Canary(ID, lambda: None)
    return canary.plan({"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}})


def render_like_moto(template: str, paths: dict[str, str], event: dict[str, object]) -> str:
    """What a standalone moto server makes of a template: values inserted as text, no quotes added."""
    text = template
    for key, path in paths.items():
        node: object = event
        for part in path.removeprefix("$.").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            text = text.replace(f"<{key}>", node if isinstance(node, str) else json.dumps(node))
    return text


def test_quoting_is_read_per_placeholder() -> None:
    found = placeholder_quoting('{"a": "<x> and \\"<y>\\"", "b": <z>, "c": [<x>]}')
    assert found == {"x": {True, False}, "y": {True}, "z": {False}}


@pytest.mark.parametrize(
    ("template", "paths", "visible"),
    [
        ('{"hook": "<hook>"}', {"hook": "$.detail.hook"}, True),
        ('{"n": <n>}', {"n": "$.detail.count"}, False),
        ('{"n": <n>, "hook": "<hook>"}', {"n": "$.detail.count", "hook": "$.detail.hook"}, True),
        ('{"n": <n>, "m": "<n>"}', {"n": "$.detail.count"}, False),
        ('{"v": <v>, "id": "<id>"}', {"v": "$.detail.video", "id": "$.detail.video.id"}, False),
        ("<n> items", {"n": "$.detail.count"}, False),
    ],
)
def test_every_rendering_is_json_where_moto_inserts_text(template: str, paths: dict[str, str], visible: bool) -> None:
    """Unquoted placeholders get a number, quoted ones the marker; the result parses on moto."""
    detail, shows = plan(template, paths)
    assert shows is visible
    event = {"source": "iatk.canary", "detail": detail}
    rendered = render_like_moto(template, paths, event)
    if template.startswith("{"):
        json.loads(rendered)  # raises when the canary would make moto answer HTTP 500
    unquoted = [key for key, where in placeholder_quoting(template).items() if False in where]
    assert [key for key in unquoted if f"<{key}>" in rendered] == []  # each unquoted one was filled
    assert (ID in rendered) is visible
