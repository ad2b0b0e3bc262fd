"""Strings and numbers: formats, ``pattern``, lengths; bounds and ``multipleOf`` (a part of the generator)."""

from __future__ import annotations

import base64
import math
import re
import string
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

from ._regex import _emit, _has_anchor_end, _pattern_checker, _read_pattern, _RegexUnsupported, _span
from ._seeded import _seeded_time, _seeded_uuid
from ._state import _GeneratorBase

_SUFFIX_CHARS = string.ascii_lowercase + string.digits
#: The formats :meth:`_Scalars._formatted` writes real values for.
_FORMATS = frozenset(
    {
        "date-time", "date", "time", "uuid", "email", "idn-email", "uri", "url", "iri", "uri-reference",
        "iri-reference", "hostname", "idn-hostname", "ipv4", "ipv6", "byte", "duration", "json-pointer",
        "relative-json-pointer", "regex", "uri-template",
    }
)  # fmt: skip
_EMAIL_SHAPES = (("", "@example.com"), ("", "@x.io"))
_URI_SHAPES = (("https://example.com/", ""), ("https://x.io/", ""))
#: How a format's value can grow or shrink: (fixed head, fixed tail) around a free middle, roomiest first.
_RESIZABLE: dict[str, tuple[tuple[str, str], ...]] = {
    "email": _EMAIL_SHAPES,
    "idn-email": _EMAIL_SHAPES,
    "uri": _URI_SHAPES,
    "url": _URI_SHAPES,
    "iri": _URI_SHAPES,
    "uri-reference": _URI_SHAPES,
    "iri-reference": _URI_SHAPES,
    "hostname": (("", ".example.com"), ("", "")),
    "idn-hostname": (("", ".example.com"), ("", "")),
}


class _Scalars(_GeneratorBase):
    """The generator's leaf values: strings (formats, patterns, lengths) and numbers (bounds, steps)."""

    def string(self, node: Mapping[str, Any], pointer: str, path: str, name: str | None) -> str:
        least = int(node.get("minLength", 0))
        most = None if node.get("maxLength") is None else int(node["maxLength"])
        if most is not None and most < least:
            raise self.error(pointer, path, f"minLength {least} is more than maxLength {most}")
        also = [p for p in node.get("x-iatk-patterns", []) if isinstance(p, str)]
        if not also:
            return self._string(node, least, most, pointer, path, name)
        # several patterns (merged from allOf): build for each in turn, keep one that matches them all
        every = [node["pattern"], *also] if isinstance(node.get("pattern"), str) else also
        checkers = [_pattern_checker(p) for p in every]
        for attempt in range(24):
            first = every[attempt % len(every)]
            with self.salted(attempt, f"{path}/pattern"), self.stream(f"{path}/pattern"):
                value = self._string({**node, "pattern": first}, least, most, pointer, path, name)
                pieces = [self._shortest(other) for other in every if other != first]
            # a string of one pattern, with a short match of each other pattern put in somewhere
            for candidate in _spliced(value, [piece for piece in pieces if piece is not None]):
                if least <= len(candidate) <= (most if most is not None else len(candidate)) and all(
                    checker is None or checker.search(candidate) for checker in checkers
                ):
                    return candidate
        raise self.error(
            f"{pointer}/pattern",
            path,
            f"cannot build a string that matches all of the patterns {every} (merged through allOf); add an "
            "`example` to that schema node, or pass overrides= with a value for that event path",
        )

    def _shortest(self, pattern: str) -> str | None:
        """A short string matching ``pattern`` (None when the pattern cannot be read)."""
        try:
            tree, compiled = _read_pattern(pattern)
        except (re.error, _RegexUnsupported):
            return None
        low, _high = _span(tree)
        value = _emit(tree, self.rng, int(low))
        return value if compiled.search(value) else None

    def _string(
        self, node: Mapping[str, Any], least: int, most: int | None, pointer: str, path: str, name: str | None
    ) -> str:
        if self.edge is not None and "format" not in node and "pattern" not in node:
            # the edges: the shortest string allowed, then the longest (maxLength, or a long one)
            if self.edge % 2 == 0:
                most = least
            else:
                least = most if most is not None else max(least, 64)
        fmt, pattern = node.get("format"), node.get("pattern")
        if fmt in _FORMATS:
            # A format value that also meets the length and the pattern satisfies every keyword; only
            # when none does is the pattern (or the plain length rule below) left to win.
            checker = _pattern_checker(pattern) if isinstance(pattern, str) else None
            for value in self._format_candidates(fmt, name, least, most, tries=1 if pattern is None else 8):
                if pattern is None or (checker is not None and checker.search(value)):
                    return value
        if pattern is not None:
            return self._pattern(pattern, least, most, pointer, path)
        value = self._formatted(fmt, name)
        if self.salt and most is None and self.rng.random() < 0.5:
            least = max(least, self.rng.randint(len(value) + 1, len(value) + 40))  # drawing again: longer
        if len(value) < least:
            value += "".join(self.rng.choice(_SUFFIX_CHARS) for _ in range(least - len(value)))
        if most is not None and len(value) > most:
            value = value[:most]
        return value

    def _format_candidates(self, fmt: str, name: str | None, least: int, most: int | None, tries: int) -> Iterator[str]:
        """Values of format ``fmt`` within the length bounds; later tries draw other times, ids, hosts."""
        for attempt in range(tries):
            value = self._formatted(fmt, name, fresh=self.fresh and attempt == 0)
            if least <= len(value) and (most is None or len(value) <= most):
                yield value
            else:
                yield from self._resized(fmt, value, least, most)

    def _resized(self, fmt: str, value: str, least: int, most: int | None) -> Iterator[str]:
        """``value`` made longer or shorter by its free part (an email's local part, a URI's path...)."""
        if fmt == "byte":  # base64 comes in blocks of 4 characters for 3 bytes
            size = max(4, -(-least // 4) * 4)
            if most is None or size <= most:
                text = base64.b64decode(value).decode() * (size // 3 + 1)
                yield base64.b64encode(text[: size // 4 * 3].encode()).decode()
            return
        shapes = _RESIZABLE.get(fmt, ())
        if not shapes:
            return
        head, tail = shapes[0]
        free = value[len(head) : len(value) - len(tail)]
        cap = 63 if fmt in ("hostname", "idn-hostname") else None  # a DNS label
        for head, tail in shapes:
            low = max(1, least - len(head) - len(tail))
            high = None if most is None else most - len(head) - len(tail)
            if cap is not None:
                high = cap if high is None else min(high, cap)
            if high is not None and high < low:
                continue
            text = free if high is None else free[:high].rstrip("-./")
            while len(text) < low:
                text += self.rng.choice(_SUFFIX_CHARS)
            yield f"{head}{text}{tail}"

    def _formatted(self, fmt: Any, name: str | None, *, fresh: bool | None = None) -> str:
        rng = self.rng
        moment = _seeded_time(rng)
        fresh = self.fresh if fresh is None else fresh
        if fresh:
            moment = self.now
        word = re.sub(r"[^A-Za-z0-9]+", "-", name or "").strip("-") or "string"
        suffix = "".join(rng.choice(_SUFFIX_CHARS) for _ in range(4))
        if fmt == "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return moment.strftime("%Y-%m-%d")
        if fmt == "time":
            return moment.strftime("%H:%M:%SZ")
        if fmt == "uuid":
            return _seeded_uuid(rng, fresh=fresh)
        if fmt in ("email", "idn-email"):
            return f"{word.lower()}.{suffix}@example.com"
        if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
            return f"https://example.com/{word.lower()}/{suffix}"
        if fmt in ("hostname", "idn-hostname"):
            return f"{word.lower()}-{suffix}.example.com"
        if fmt == "ipv4":
            return f"192.0.2.{rng.randint(1, 254)}"  # TEST-NET-1, reserved for documentation
        if fmt == "ipv6":
            return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
        if fmt == "byte":
            return base64.b64encode(f"{word}-{suffix}".encode()).decode()
        if fmt == "duration":
            return f"PT{rng.randint(1, 59)}M"
        if fmt == "json-pointer":
            return f"/{word.lower()}/{suffix}"
        if fmt == "relative-json-pointer":
            return f"0/{word.lower()}"
        if fmt == "regex":
            return f"^{word.lower()}-[a-z0-9]+$"
        if fmt == "uri-template":
            return f"https://example.com/{word.lower()}/{{id}}"
        if fmt == "unix-time":
            return str(int(moment.timestamp()))
        return f"{word}-{suffix}"

    def _pattern(self, pattern: Any, least: int, most: int | None, pointer: str, path: str) -> str:
        if not isinstance(pattern, str):
            raise self.error(f"{pointer}/pattern", path, f"pattern must be a string, found {pattern!r}")
        try:
            tree, compiled = _read_pattern(pattern)
        except (re.error, _RegexUnsupported) as err:
            raise self.unsupported(f"{pointer}/pattern", path, f"pattern {pattern!r} ({err})") from None
        shortest, longest = _span(tree)
        low = max(shortest, min(least, longest))
        high = min(longest, most if most is not None else low + 8)
        for attempt in range(20):
            target = self.rng.randint(int(low), int(max(low, high)))
            if self.edge is not None and attempt < 10:
                target = int(low) if self.edge % 2 == 0 else int(max(low, high))
            value = _emit(tree, self.rng, target)
            if len(value) < least and not _has_anchor_end(pattern):
                value += "".join(self.rng.choice(_SUFFIX_CHARS) for _ in range(least - len(value)))
            if least <= len(value) <= (most if most is not None else len(value)) and compiled.search(value):
                return value
        raise self.error(
            f"{pointer}/pattern",
            path,
            f"could not build a string matching {pattern!r} with length {least}..{most}; "
            "add an `example` there or pass overrides= for that event path",
        )

    def number(self, node: Mapping[str, Any], pointer: str, path: str, *, integer: bool) -> int | float:
        low, low_open = _bound(self, node, "minimum", "exclusiveMinimum", pointer=pointer, path=path)
        high, high_open = _bound(self, node, "maximum", "exclusiveMaximum", pointer=pointer, path=path)
        step_raw = node.get("multipleOf")
        if step_raw is not None and (
            isinstance(step_raw, bool) or not isinstance(step_raw, int | float) or step_raw <= 0
        ):
            raise self.error(f"{pointer}/multipleOf", path, f"multipleOf must be a positive number, found {step_raw!r}")
        step = Fraction(str(step_raw)) if step_raw is not None else None
        span = Fraction(100) * (step if step is not None and step > 1 else 1)
        if self.salt and (low is None or high is None):
            span *= self.rng.choice((1, 100, 10_000, 1_000_000))  # drawing again: reach further out
        lo = low if low is not None else high - span if high is not None else Fraction(0)
        if low is None and high is None and self.salt and self.rng.random() < 0.5:
            lo = -span  # and below zero
        hi = high if high is not None else lo + span
        if integer or step is not None:
            # candidates are k * unit for integers k; unit = the step (an integer step for integers)
            unit = step if step is not None else Fraction(1)
            if integer and unit.denominator != 1:
                unit = Fraction(unit.numerator)
            first = math.ceil(lo / unit)
            last = math.floor(hi / unit)
            if low_open and first * unit == lo:
                first += 1
            if high_open and last * unit == hi:
                last -= 1
            if first > last:
                raise self.error(pointer, path, f"no {'integer' if integer else 'multiple'} fits the bounds")
            start = self.rng.randint(first, last)
            if self.edge is not None:
                start = first if self.edge % 2 == 0 else last
            for k in [start, *range(first, min(last, first + 200) + 1), *range(last, max(first, last - 200) - 1, -1)]:
                value = k * unit
                result: int | float = int(value) if value.denominator == 1 and integer else float(value)
                if step_raw is None or _multiple_ok(result, step_raw):
                    return result
            raise self.error(f"{pointer}/multipleOf", path, f"no number in range passes multipleOf {step_raw}")
        if lo > hi or (lo == hi and (low_open or high_open)):
            raise self.error(pointer, path, "minimum is above maximum")
        value_float = round(self.rng.uniform(float(lo), float(hi)), 2)
        if self.edge is not None:
            # the edges: the bound itself, or the float next to it when the bound is exclusive
            if self.edge % 2 == 0:
                value_float = math.nextafter(float(lo), math.inf) if low_open else float(lo)
            else:
                value_float = math.nextafter(float(hi), -math.inf) if high_open else float(hi)
        if (
            value_float < lo
            or value_float > hi
            or (low_open and value_float == lo)
            or (high_open and value_float == hi)
        ):
            value_float = float((lo + hi) / 2)
        return value_float


def _bound(
    gen: _GeneratorBase, node: Mapping[str, Any], key: str, exclusive_key: str, *, pointer: str, path: str
) -> tuple[Fraction | None, bool]:
    """A bound as an exact fraction, and whether it is exclusive (draft 4 boolean or draft 6 number)."""
    value = node.get(key)
    exclusive = node.get(exclusive_key)
    for keyword, raw in ((key, value), (exclusive_key, exclusive)):
        if raw is not None and not isinstance(raw, bool) and not isinstance(raw, int | float):
            raise gen.error(f"{pointer}/{keyword}", path, f"{keyword} must be a number, found {raw!r}")
    bound = Fraction(str(value)) if value is not None and not isinstance(value, bool) else None
    if isinstance(exclusive, bool):
        return bound, exclusive and bound is not None
    if exclusive is not None:
        other = Fraction(str(exclusive))
        tighter = bound is None or (other >= bound if key == "minimum" else other <= bound)
        if tighter:
            return other, True
    return bound, False


def _multiple_ok(value: int | float, step: int | float) -> bool:
    # the check jsonschema makes, so a float step like 0.01 never yields 0.07 (7.000000000000001 steps)
    if isinstance(step, float):
        quotient = value / step
        return int(quotient) == quotient
    return value % step == 0


def _spliced(value: str, pieces: list[str]) -> Iterator[str]:
    """``value``, then ``value`` with the pieces put in at each place (all at one place, then in turn)."""
    yield value
    if not pieces:
        return
    joined = "".join(pieces)
    for cut in range(len(value) + 1):
        yield value[:cut] + joined + value[cut:]
    for cut in range(len(value) + 1):
        yield (
            value[:cut] + joined[::-1] + value[cut:]
            if len(pieces) == 1 and joined == joined[::-1]
            else value[:cut] + "".join(reversed(pieces)) + value[cut:]
        )
