"""A small regex → string generator for JSON Schema ``pattern``.

:class:`_RegexParser` reads the common subset of ECMA-262 regex used in schemas into a tree;
:func:`_emit` writes a string of about a wanted length from it, and Python's ``re`` checks it.
"""

from __future__ import annotations

import functools
import math
import random
import re
import string
import warnings
from typing import Any


class _RegexUnsupported(Exception):
    pass


#: A schema ``pattern``'s groups nest at most this deep.
MAX_GROUP_NESTING = 50


_CLASS_ESCAPES = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "s": " ",
    "D": string.ascii_letters,
    "W": "-",
    "S": string.ascii_letters + string.digits,
}
_CHAR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_DOT = string.ascii_letters + string.digits
_NEGATED_POOL = string.ascii_letters + string.digits + "-_.:/ @"
_NICE_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")

_Node = tuple[Any, ...]  # ("set", chars) | ("seq", [nodes]) | ("alt", [nodes]) | ("rep", node, lo, hi)


class _RegexParser:
    """Parses the common subset of ECMA-262 regex used in schemas into a tree to emit strings from."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def parse(self) -> _Node:
        node = self.alternation()
        if self.at != len(self.text):
            raise _RegexUnsupported(f"unexpected {self.peek()!r} at {self.at}")
        return node

    def alternation(self) -> _Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while self.at < len(self.text) and self.peek() not in "|)":
            items.append(self.quantified(self.atom()))
        return ("seq", items)

    def atom(self) -> _Node:
        char = self.text[self.at]
        self.at += 1
        if char == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self.text.startswith(("?<", "?P<"), self.at) and not self.text.startswith(("?<=", "?<!"), self.at):
                self.at = self.text.index(">", self.at) + 1
            elif self.peek() == "?":
                raise _RegexUnsupported("lookaround and inline flags")
            inner = self.alternation()
            if self.peek() != ")":
                raise _RegexUnsupported("unbalanced parenthesis")
            self.at += 1
            return inner
        if char == "[":
            return ("set", self.char_class())
        if char == ".":
            return ("set", _DOT)
        if char in "^$":
            return ("seq", [])
        if char == "\\":
            return self.escape(in_class=False)
        if char in "*+?":
            raise _RegexUnsupported(f"nothing to repeat before {char!r}")
        return ("set", char)

    def quantified(self, atom: _Node) -> _Node:
        char = self.peek()
        if char in ("*", "+", "?") and char:
            self.at += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{" and (found := re.match(r"\{(\d+)(?:(,)(\d*))?\}", self.text[self.at :])):
            self.at += found.end()
            low = int(found.group(1))
            high = low if not found.group(2) else int(found.group(3)) if found.group(3) else None
        else:
            return atom
        if self.peek() in ("?", "+") and self.peek():
            self.at += 1  # lazy or possessive: same strings
        return ("rep", atom, low, high)

    def escape(self, *, in_class: bool) -> _Node:
        if self.at >= len(self.text):
            raise _RegexUnsupported("trailing backslash")
        char = self.text[self.at]
        self.at += 1
        if char in _CLASS_ESCAPES:
            return ("set", _CLASS_ESCAPES[char])
        if char in _CHAR_ESCAPES:
            return ("set", _CHAR_ESCAPES[char])
        if char in "xu":
            size = 2 if char == "x" else 4
            digits = self.text[self.at : self.at + size]
            if len(digits) != size or not all(c in string.hexdigits for c in digits):
                raise _RegexUnsupported(f"bad \\{char} escape")
            self.at += size
            return ("set", chr(int(digits, 16)))
        if char in "bB" and not in_class:
            return ("seq", [])  # word boundary: zero width
        if char == "b":
            return ("set", "\b")
        if char in "AZz":
            return ("seq", [])
        if char.isdigit() or char in "kpP":
            raise _RegexUnsupported(f"\\{char} (backreferences and unicode classes)")
        return ("set", char)

    def char_class(self) -> str:
        negate = self.peek() == "^"
        if negate:
            self.at += 1
        chars: list[str] = []
        first = True
        while True:
            if self.at >= len(self.text):
                raise _RegexUnsupported("unterminated character class")
            char = self.text[self.at]
            if char == "]" and not first:
                self.at += 1
                break
            first = False
            if char == "\\":
                self.at += 1
                item = self.escape(in_class=True)[1]
            elif self.text.startswith("[:", self.at):
                raise _RegexUnsupported("POSIX classes")
            else:
                self.at += 1
                item = char
            if len(item) == 1 and self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.at += 1
                end_char = self.text[self.at]
                self.at += 1
                if end_char == "\\":
                    end = self.escape(in_class=True)[1]
                    if len(end) != 1:
                        raise _RegexUnsupported("a class escape cannot end a range")
                else:
                    end = end_char
                if ord(end) < ord(item):
                    raise _RegexUnsupported(f"bad range {item}-{end}")
                span = range(ord(item), ord(end) + 1)
                chars.extend(chr(c) for c in span if len(span) <= 512 or chr(c) in _NICE_CHARS)
            else:
                chars.extend(item)
        if negate:
            excluded = set(chars)
            chars = [c for c in _NEGATED_POOL if c not in excluded]
        if not chars:
            raise _RegexUnsupported("an empty character class")
        return "".join(dict.fromkeys(chars))


@functools.lru_cache(maxsize=512)
def _pattern_checker(pattern: str) -> re.Pattern[str] | None:
    """Python's compiled form of a schema pattern, to check a value; None when Python cannot read it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern))  # ECMA named groups
    except (re.error, RecursionError):  # RecursionError: groups nested past what re's parser reads
        return None


@functools.lru_cache(maxsize=512)
def _read_pattern(pattern: str) -> tuple[_Node, re.Pattern[str]]:
    """The pattern's tree to emit strings from, and Python's compiled form to check them."""
    depth = deepest = 0
    for char in pattern.replace("\\\\", "").replace("\\(", "").replace("\\)", ""):
        depth += 1 if char == "(" else -1 if char == ")" else 0
        deepest = max(deepest, depth)
    if deepest > MAX_GROUP_NESTING:  # both parsers (iatk's and Python's re) recurse per group
        raise _RegexUnsupported(f"its groups nest {deepest} deep; iatk reads patterns nested up to {MAX_GROUP_NESTING}")
    tree = _RegexParser(pattern).parse()
    compiled = _pattern_checker(pattern)
    if compiled is None:
        raise re.error(f"Python's re cannot compile {pattern!r}")
    return tree, compiled


def _span(node: _Node) -> tuple[int, float]:
    """The shortest and longest strings a regex node matches (the longest may be infinite)."""
    kind = node[0]
    if kind == "set":
        return 1, 1
    if kind in ("seq", "alt"):
        spans = [_span(part) for part in node[1]]
        if not spans:
            return 0, 0
        if kind == "seq":
            return sum(lo for lo, _ in spans), sum(hi for _, hi in spans)
        return min(lo for lo, _ in spans), max(hi for _, hi in spans)
    child_lo, child_hi = _span(node[1])
    low, high = node[2], node[3]
    if high is None:
        return low * child_lo, math.inf if child_hi > 0 else 0
    return low * child_lo, high * child_hi


def _split(total: int, parts: list[tuple[int, float]], rng: random.Random) -> list[int]:
    """Share ``total`` characters among parts, each within its span, in random order."""
    shares = [lo for lo, _ in parts]
    left = total - sum(shares)
    order = list(range(len(parts)))
    rng.shuffle(order)
    for index in order:  # a random share each, then whatever is left to whoever has room
        give = int(min(parts[index][1] - shares[index], left))
        if give > 0:
            give = rng.randint(1, give)
            shares[index] += give
            left -= give
    for index in order:
        give = int(min(parts[index][1] - shares[index], left))
        if give > 0:
            shares[index] += give
            left -= give
    return shares


def _emit(node: _Node, rng: random.Random, target: int) -> str:
    """A string matching ``node``, as close to ``target`` characters as the node allows."""
    kind = node[0]
    if kind == "set":
        chars: str = node[1]
        nice = [c for c in chars if c in _NICE_CHARS]
        return rng.choice(nice or chars)
    if kind == "seq":
        parts = node[1]
        shares = _split(target, [_span(part) for part in parts], rng)
        return "".join(_emit(part, rng, share) for part, share in zip(parts, shares, strict=True))
    if kind == "alt":
        spans = [(branch, _span(branch)) for branch in node[1]]
        fitting = [(b, s) for b, s in spans if s[0] <= target <= s[1]]
        branch, (lo, hi) = rng.choice(fitting or spans)
        return _emit(branch, rng, int(min(max(target, lo), hi)))
    child = node[1]
    child_lo, child_hi = _span(child)
    low = node[2]
    high = math.inf if node[3] is None else node[3]
    if child_hi == 0:
        return "".join(_emit(child, rng, 0) for _ in range(low))
    fewest = max(low, math.ceil(target / child_hi))
    most = min(high, target // child_lo if child_lo else fewest + 3)
    count = int(min(max(low, fewest), high)) if fewest > most else rng.randint(fewest, int(min(most, fewest + 3)))
    shares = _split(target, [(child_lo, child_hi)] * count, rng) if count else []
    return "".join(_emit(child, rng, int(min(max(share, child_lo), child_hi))) for share in shares)


def _has_anchor_end(pattern: str) -> bool:
    return pattern.endswith("$") and not pattern.endswith("\\$")
