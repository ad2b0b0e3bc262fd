"""The limits EventBridge puts on a whole pattern at PutRule: ``$or`` combinations and wildcard complexity.

* Combinations: a pattern with ``$or`` stands for several plain patterns (each branch with the rest);
  EventBridge refuses a rule that stands for more than :data:`MAX_COMBINATIONS` of them.
* Wildcard complexity: event-ruler rates the wildcard values of one field by how many of their
  partial matches a worst-case value keeps alive at once (``MachineComplexityEvaluator``), and
  EventBridge refuses a rule above :data:`MAX_WILDCARD_COMPLEXITY` with "Rule is too complex". The
  rating here runs the same count on the wildcards' automaton: each wildcard value (in quotes, as
  event-ruler stores it) is a chain of states, a ``*`` loops on any character, and the rating is the
  largest set of live states any input reaches, counted per wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: EventBridge refuses a pattern whose ``$or`` branches expand to more plain patterns than this.
MAX_COMBINATIONS = 1000
#: EventBridge refuses a pattern whose wildcards rate above this ("Rule is too complex").
MAX_WILDCARD_COMPLEXITY = 10
_SEARCH_LIMIT = 5000  # automaton states explored before the rating is taken as over the limit

_STAR = object()  # a "*" token; any other token is one character


def _tokens(text: str) -> list[object]:
    """The wildcard value as event-ruler stores it (inside quotes): characters and stars."""
    out: list[object] = ['"']
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        out.append(_STAR if char == "*" else char)
        index += 1
    out.append('"')
    return out


def wildcard_complexity(values: Iterable[str]) -> int:
    """The rating of one field's wildcard values (capped just above :data:`MAX_WILDCARD_COMPLEXITY`).

    A state is ``(wildcard, position, looping)``: before token ``position`` of the wildcard, and for
    a ``*``, whether it has taken characters yet (event-ruler's state inside the star) or was just
    reached (the state before it, which also counts the star it leads into, as event-ruler counts a
    state's "transition for all bytes").
    """
    chains = [_tokens(value) for value in dict.fromkeys(values)]
    if not chains:
        return 0
    alphabet = [*sorted({token for chain in chains for token in chain if isinstance(token, str)}), "\0"]
    State = tuple[int, int, bool]

    def closure(states: Iterable[State]) -> frozenset[State]:
        found = set(states)
        todo = list(found)
        while todo:
            chain, position, _looping = todo.pop()
            if position < len(chains[chain]) and chains[chain][position] is _STAR:
                following = (chain, position + 1, False)
                if following not in found:
                    found.add(following)
                    todo.append(following)
        return frozenset(found)

    def rating(states: frozenset[State]) -> int:
        count = 0
        for chain, position, looping in states:
            tokens = chains[chain]
            if position > 0 and tokens[position - 1] is _STAR:
                continue  # the star's own states carry it: no state of its own
            if position < len(tokens) and tokens[position] is _STAR and not looping:
                count += 1 if (chain, position, True) in states else 2
            else:
                count += 1
        return count

    start = closure((chain, 0, False) for chain in range(len(chains)))
    seen = {start}
    todo = [start]
    best = rating(start)
    while todo:
        current = todo.pop()
        for char in alphabet:
            moved: set[State] = set()
            for chain, position, _looping in current:
                tokens = chains[chain]
                if position >= len(tokens):
                    continue
                token = tokens[position]
                if token is _STAR:
                    moved.add((chain, position, True))
                elif token == char:
                    moved.add((chain, position + 1, False))
            if not moved:
                continue
            following = closure(moved)
            if following in seen:
                continue
            seen.add(following)
            best = max(best, rating(following))
            if best > MAX_WILDCARD_COMPLEXITY or len(seen) > _SEARCH_LIMIT:
                return max(best, MAX_WILDCARD_COMPLEXITY + 1)
            todo.append(following)
    return best


def combinations(raw: Mapping[str, Any]) -> int:
    """How many plain patterns a (checked) pattern stands for once its ``$or`` branches are expanded."""
    total = 1
    for key, value in raw.items():
        if key == "$or" and isinstance(value, list):
            total *= sum(combinations(branch) for branch in value if isinstance(branch, Mapping))
        elif isinstance(value, Mapping):
            total *= combinations(value)
    return total


def wildcards(raw: Mapping[str, Any], path: str = "$") -> dict[str, list[str]]:
    """The wildcard values of a (checked) pattern, by field path (``$or`` branches add to the same field)."""
    found: dict[str, list[str]] = {}

    def walk(node: Mapping[str, Any], where: str) -> None:
        for key, value in node.items():
            if key == "$or" and isinstance(value, list):
                for branch in value:
                    if isinstance(branch, Mapping):
                        walk(branch, where)
            elif isinstance(value, Mapping):
                walk(value, f"{where}.{key}")
            elif isinstance(value, list):
                for item in value:
                    for text in _wildcard_texts(item):
                        found.setdefault(f"{where}.{key}", []).append(text)

    walk(raw, path)
    return found


def _wildcard_texts(item: Any) -> list[str]:
    if not isinstance(item, Mapping) or len(item) != 1:
        return []
    name, value = next(iter(item.items()))
    if name == "wildcard" and isinstance(value, str):
        return [value]
    if name == "anything-but" and isinstance(value, Mapping) and isinstance(value.get("wildcard"), str | list):
        inner = value["wildcard"]
        return [inner] if isinstance(inner, str) else [text for text in inner if isinstance(text, str)]
    return []
