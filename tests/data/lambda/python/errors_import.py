from __future__ import annotations

import iatk_no_such_module_for_lambda_tests  # noqa: F401


def handler(event, context):
    return 1
