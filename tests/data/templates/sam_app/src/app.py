"""A handler for the SAM test app: records what it got (it runs only where a Lambda runtime does)."""

from __future__ import annotations

import json


def handler(event, context):
    print(json.dumps(event))
    return {"statusCode": 200, "body": json.dumps({"ok": True})}
