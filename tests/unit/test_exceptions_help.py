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
    ("cls", "section"), [(exceptions.ConfigError, "Configuration"), (exceptions.StackNotFound, "Stacks")]
)
def test_message_names_the_readme_section(cls, section):
    """The message ends with the README section to read, and no made-up web address."""
    message = str(cls("stack 'x' not found"))
    assert message.endswith(f"(see README.md, section '{section}')")
    assert "http" not in message
