"""Echo handlers: the event, the context, the environment."""

from __future__ import annotations

import os
import sys
import time

print("init: app imported")


def echo(event, context):
    return event


def context_fields(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("sleep", 0))
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_first": first,
        "remaining_after": context.get_remaining_time_in_millis(),
        "client_context": context.client_context.custom if context.client_context else None,
    }


def environ(event, context):
    return {"environ": dict(os.environ), "sys_path": sys.path, "executable": sys.executable, "cwd": os.getcwd()}


def sleep(event, context):
    time.sleep(event.get("seconds", 0.3))
    return {"pid": os.getpid()}


def pid(event, context):
    return os.getpid()


def chatty(event, context):
    line = "x" * 99
    for _ in range(event.get("lines", 3000)):
        print(line)
    return "done"


def big(event, context):
    return "y" * event["size"]


def not_json(event, context):
    return {1, 2}


def raises(event, context):
    raise ValueError("boom: " + event.get("why", "no reason"))


def exits(event, context):
    sys.exit(event.get("code", 3))


def killed(event, context):
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def uses_yaml(event, context):
    import yaml

    return yaml.safe_dump({"a": 1})


def uses_boto3(event, context):
    import boto3

    return boto3.__name__


def layered(event, context):
    import layer_helper
    import layered_pkg

    return [layer_helper.NAME, layered_pkg.NAME]


def builtin_exit(event, context):
    exit(4)  # the site builtin, not sys.exit
