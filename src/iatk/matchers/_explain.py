"""The nearest-miss listing: each event received with why it did (not) match, for waits' timeouts."""

from __future__ import annotations

from collections.abc import Iterable

from iatk.events import Event

from ._combinators import TRANSFORMED_NOTE, MatcherLike, as_matcher


def explain(matcher: MatcherLike, events: Iterable[Event], *, limit: int | None = None, width: int = 160) -> str:
    """Each event with why it did (not) match, nearest miss first: the body of a timeout message.

    Args:
        matcher: What was awaited (anything :func:`as_matcher` takes).
        events: The events received.
        limit: Show at most this many events (the nearest misses); the rest are counted. Default:
            all of them.
        width: Truncate each body to this many characters.

    Returns:
        A multi-line text, e.g.::

            2 events received, none matched; nearest miss first:
              1. id=1f0c... source='video.plugin' detail-type='plugin-failed' body={"version": ...}
                 detail-type: expected prefix "plugin-complete", got "plugin-failed"
    """
    chosen = as_matcher(matcher)
    judged = [(event, chosen(event)) for event in events]
    if not judged:
        return "no events were received"
    # sorted() is stable: equal scores keep the order of arrival.
    judged.sort(key=lambda pair: (not pair[1].matched, -pair[1].score))
    hits = sum(1 for _, result in judged if result.matched)
    verdict = f"{hits} matched" if hits else "none matched"
    lines = [f"{len(judged)} event{'s' if len(judged) != 1 else ''} received, {verdict}; nearest miss first:"]
    if limit is None:
        limit = len(judged)
    transformed = 0
    for number, (event, result) in enumerate(judged[:limit], 1):
        lines.append(f"  {number}. {event.summary(width)}")
        if result.matched:
            lines.append("     matched")
            continue
        for line in result.diff().splitlines():
            text = line
            if text.endswith(TRANSFORMED_NOTE):  # said once, under the listing
                transformed += 1
                text = text[: -len(TRANSFORMED_NOTE)].rstrip()
            if text:
                lines.append(f"     {text}")
    if len(judged) > limit:
        lines.append(f"  … and {len(judged) - limit} more not shown")
    if transformed:
        lines.append(
            f"  {transformed} of these bodies are not EventBridge envelopes: a target with an input transformation? "
            "A pattern sees the body as it arrives."
        )
    return "\n".join(lines)
