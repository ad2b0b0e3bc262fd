from __future__ import annotations

raise RuntimeError("init failed on purpose")


def handler(event, context):
    return 1
