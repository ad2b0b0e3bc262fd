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
