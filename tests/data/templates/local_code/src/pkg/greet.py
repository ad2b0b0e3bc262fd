from __future__ import annotations

import os

import shout  # from the layer (/opt/python)


def handler(event, context):
    return {"said": shout.loud(f"{os.environ['GREETING']} {event['name']}"), "function": context.function_name}
