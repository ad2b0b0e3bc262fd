"""The run's Markdown summary (GitHub Actions' job summary): backend, run id, SLA table, leftovers, cleanup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _breached(wait: Mapping[str, Any]) -> bool:
    latency = wait.get("latency")
    if wait.get("outcome") not in ("matched", "held"):
        return True
    return isinstance(latency, (int, float)) and latency > float(wait.get("sla") or 0)


def markdown_summary(
    *,
    backend: str,
    run_id: str,
    waits: Sequence[tuple[str, Mapping[str, Any]]] = (),
    leftover: Sequence[str] = (),
    cleanup: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """The summary: a heading line, the SLA table (breaches on top, then the slowest), leftovers, cleanup.

    Args:
        backend: Where the run's calls went (``moto (embedded)``, ``aws``...).
        run_id: The run id.
        waits: ``(test, wait row)`` for each wait (rows as the ``iatk_wait`` junit property has them).
        leftover: Harness resources the run left behind.
        cleanup: Section title → lines (what the run swept, deleted, failed to delete).
    """
    out = [f"### iatk: backend {backend}, run id `{run_id}`", ""]
    if waits:
        ordered = sorted(
            waits,
            key=lambda item: (not _breached(item[1]), -float(item[1].get("latency") or item[1].get("elapsed") or 0)),
        )
        breaches = sum(1 for _, w in waits if _breached(w))
        out.append(f"**Waits**: {len(waits)}, SLA breaches: {breaches}" + (" ❌" if breaches else " ✅"))
        out += ["", "| test | awaited | SLA s | latency s | outcome |", "|---|---|---|---|---|"]
        for test, wait in ordered:
            latency = wait.get("latency")
            mark = " ❌" if _breached(wait) else ""
            out.append(
                f"| {_cell(test)} | {_cell(wait.get('awaited', ''))} | {float(wait.get('sla') or 0):g} | "
                f"{'-' if latency is None else f'{float(latency):.3f}'} | {_cell(wait.get('outcome'))}{mark} |"
            )
        out.append("")
    if leftover:
        out += ["**Harness resources left behind by this run**", ""]
        out += [f"- `{item}`" for item in leftover]
        out.append("")
    for title, lines in (cleanup or {}).items():
        if lines:
            out += [f"**{title}**", ""]
            out += [f"- {_cell(line)}" for line in lines]
            out.append("")
    if not waits and not leftover and not any((cleanup or {}).values()):
        out += ["No listener waits, nothing left behind.", ""]
    return "\n".join(out) + "\n"
