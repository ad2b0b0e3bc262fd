"""What a matcher says about one event: :class:`MatchResult`, made of :class:`Mismatch` es."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field that kept an event from matching.

    Attributes:
        path: Where, in envelope keys (``detail.order.id``, ``detail.items[1].sku``); empty for a
            matcher that is not a pattern (a function, ``~``).
        message: What was expected and what the event has.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The verdict of a matcher on one event; truthy when it matched.

    Attributes:
        matched: Whether the event matched.
        reason: Why not (empty when it matched), in words a person can read.
        score: In [0, 1], the share of the pattern's fields that matched; ranks near misses.
        mismatches: The fields that differ (the diff), for patterns.
    """

    matched: bool
    reason: str = ""
    score: float = 0.0
    mismatches: tuple[Mismatch, ...] = ()

    def __bool__(self) -> bool:
        return self.matched

    def diff(self) -> str:
        """The differing fields, one per line (the reason when there are none)."""
        if self.mismatches:
            return "\n".join(str(mismatch) for mismatch in self.mismatches)
        return self.reason


#: The result of every match (one shared instance: results are frozen).
MATCHED = MatchResult(True, "", 1.0)
