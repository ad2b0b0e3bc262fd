from __future__ import annotations


def func(event, context):
    return {"where": __name__}
