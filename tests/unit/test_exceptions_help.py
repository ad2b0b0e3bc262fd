"""Error messages point at README sections that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iatk import exceptions

README = Path(__file__).parents[2] / "README.md"


def _errors_with_help():
    return [cls for cls in vars(exceptions).values() if isinstance(cls, type) and getattr(cls, "help_section", None)]


def test_every_help_section_is_a_readme_heading():
    """Each error's help_section is the text of a heading in README.md, so the pointer leads somewhere."""
    headings = {m.group(1).strip() for m in re.finditer(r"^#{2,3} (.+)$", README.read_text(), re.MULTILINE)}
    assert len(_errors_with_help()) >= 10
    missing = {cls.__name__: cls.help_section for cls in _errors_with_help() if cls.help_section not in headings}
    assert not missing, f"help sections with no README heading: {missing}"


@pytest.mark.parametrize(
    ("cls", "section", "anchor"),
    [(exceptions.ConfigError, "Configuration", "configuration"), (exceptions.StackNotFound, "Stacks", "stacks")],
)
def test_message_links_to_the_readme_section(cls, section, anchor):
    """The message ends with an absolute link to the README section (the installed README), no web address."""
    message = str(cls("stack 'x' not found"))
    tail = message.rsplit("\n", 1)[-1]
    assert tail.startswith(f"(see the README, section '{section}': file://")
    assert tail.endswith(f"README.md#{anchor})")
    path = Path(tail.split("file://", 1)[1].rsplit("#", 1)[0])
    assert path.is_file()
    assert f"## {section}" in path.read_text()
    assert "http" not in message


def test_anchors_follow_the_markdown_renderers_rule():
    """Lower case, punctuation dropped, spaces to dashes: the anchor GitHub and most renderers give."""
    assert exceptions.readme_anchor("Waiting and SLAs") == "waiting-and-slas"
    assert exceptions.readme_anchor("Unit-testing your own matchers, waits and traces (`iatk.testing`)") == (
        "unit-testing-your-own-matchers-waits-and-traces-iatktesting"
    )


def _section(message: str) -> str:
    found = re.search(r"\(see the README, section '([^']+)'", message)
    assert found, message
    return found.group(1)


def test_a_section_given_at_raise_time_replaces_the_classes():
    """ConfigError(..., help_section=) points elsewhere than "Configuration"; .problem keeps the bare message."""
    error = exceptions.ConfigError("bad Detail", help_section="Putting events")
    assert _section(str(error)) == "Putting events"
    assert error.problem == "bad Detail"
    assert _section(str(exceptions.ConfigError("bad setting"))) == "Configuration"  # the class's own is unchanged


def _raised(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(exceptions.IatkError) as caught:
        call()
    return str(caught.value)


def test_put_events_and_waits_point_to_their_own_sections():
    """Errors of put_events and of waits point to the section about what failed (issue 22, item 4)."""
    from iatk.events import put_events
    from iatk.listener._waits import Waits
    from iatk.waiting import Deadline, backoff_delays, wait_until

    headings = {m.group(1).strip() for m in re.finditer(r"^#{2,3} (.+)$", README.read_text(), re.MULTILINE)}
    cases = {
        "Putting events": [
            lambda: put_events(),
            lambda: put_events({"Source": "a", "DetailType": "b", "Detail": [1]}),
            lambda: put_events({"Source": "a", "Detial": {}}),
        ],
        "Waiting and SLAs": [
            lambda: Deadline(float("nan")),
            lambda: Deadline(-1),
            lambda: wait_until(lambda: True, description="x"),
            lambda: backoff_delays(1.0, backoff=0.5),
            lambda: Waits._window(None, "soon", "within"),  # type: ignore[arg-type]  # the argument check, before self is used
        ],
    }
    for section, calls in cases.items():
        assert section in headings
        for call in calls:
            message = _raised(call)
            assert _section(message) == section, message
