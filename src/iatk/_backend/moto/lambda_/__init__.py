"""The embedded backend's Lambda runtime: functions run in warm local subprocesses, without Docker.

moto runs functions in Docker; without a Docker daemon every path that invokes one fails. This
package runs them on the local machine instead, each *execution environment* a warm child process
that polls a local implementation of AWS's **Lambda Runtime API** (:mod:`.runtime_api`), so iatk's own
bootstraps (``bootstrap.py``, ``bootstrap.js``), AWS's ``awslambdaric`` and ``provided.*`` custom
runtimes all work the same way.

What runs, and how (the fidelity limits are in each module's docstring):

- ``python3.x``: on the test's own interpreter whatever minor version the function declares (the
  log's ``INIT_START`` line says so); ``sys.path`` = the code, the layers' ``python/`` (and
  ``python/lib/python3.X/site-packages``), then the test's virtualenv, or under ``strict=True`` only
  the packages AWS's runtime provides (boto3 and its dependencies). ``awslambdaric`` runs the loop
  when it is importable (not a dependency).
- ``nodejs*``: on ``node`` from PATH; CommonJS (``.js``, ``.cjs``) and ES modules (``.mjs``), async and
  callback handlers; ``NODE_PATH`` = the layers' ``nodejs/node<major>/node_modules``, ``nodejs/node_modules``.
- ``provided``, ``provided.al2``, ``provided.al2023``: the code's ``bootstrap`` executable.
- The child's environment is built from nothing (:mod:`.environment` lists every key and why);
  ``Timeout`` is enforced (the environment is killed, the next call is cold); memory is not.
- Errors come back as AWS gives them, in the result, never raised: ``Runtime.ImportModuleError``,
  ``Runtime.HandlerNotFound``, ``Runtime.UserCodeSyntaxError`` (init errors), an exception as
  ``{"errorType", "errorMessage", "stackTrace"}`` (Node: ``"trace"``, as AWS's Node runtime),
  ``Runtime.ExitError``, ``Sandbox.Timedout``, all with ``function_error="Unhandled"``.
- Children die with the test process even on SIGKILL (``PR_SET_PDEATHSIG``, Linux).

API (for the wiring into moto, part 2)::

    runtime = LambdaRuntime(endpoint_url=server_url, xray_daemon_address="127.0.0.1:2000",
                            strict=False, per_function_cap=4, global_cap=32, idle_timeout=300.0,
                            acquire_timeout=30.0, use_awslambdaric=None)
    spec = FunctionSpec(name=fn.function_name, runtime=fn.run_time, handler=fn.handler,
                        code=fn.code_bytes, arn=fn.function_arn, version="$LATEST",
                        layers=tuple(layer.code_bytes for layer in ...), timeout=fn.timeout,
                        memory=fn.memory_size, environment=fn.environment_vars,
                        reserved_concurrency=fn.reserved_concurrency, region=fn.region,
                        package_type=fn.package_type, config_hash=fn.code_sha_256 + <config>)
    result = runtime.invoke(spec, payload_bytes, trace_id=header_or_None,
                            client_context=decoded_json_or_None, log_tail=log_type == "Tail",
                            invoked_arn=qualified_arn_or_None)
    result.payload            # bytes: the response, or AWS's error document
    result.function_error     # None | "Unhandled"        -> X-Amz-Function-Error
    result.log_result         # base64 of the last 4 KB   -> X-Amz-Log-Result (LogType=Tail)
    result.executed_version   #                           -> X-Amz-Executed-Version
    result.request_id, result.duration_ms, result.init_duration_ms, result.cold, result.error_type
    result.logs               # the invocation's lines (INIT_START, START, output, END, REPORT)
    result.log_stream_name    # one stream per environment; the group is spec.log_group_name
    runtime.prewarm(spec, n=1) -> int       # warm environments ready (keep cold starts out of SLAs)
    runtime.reset()                         # EmbeddedBackend.reset(): end every environment
    runtime.shutdown()                      # EmbeddedBackend.stop(); idempotent, also at exit
    runtime.live_processes() -> list[int]   # for tests
    runtime.environments(spec=None)         # the live ExecutionEnvironment objects

``invoke`` is synchronous and thread-safe: concurrent calls get more environments up to the caps (a
call past them waits up to ``acquire_timeout`` then raises :class:`ConcurrencyLimitExceeded`, which
part 2 answers as ``TooManyRequestsException``). A function whose runtime cannot be served raises
:class:`RuntimeNotSupported` (its message names the function, the runtime and what to install).
Asynchronous paths (``InvocationType=Event``, EventBridge, SNS, SQS pollers, custom resources) are
part 2's: it must call ``invoke`` from its own threads, never inside a moto request that holds a lock
the handler's own SDK calls would need.
"""

from __future__ import annotations

from .code import AWS_PROVIDED_PACKAGES, CodeStore
from .environment import RESERVED, ExecutionEnvironment, build_environ
from .pool import LambdaRuntime, awslambdaric_dir
from .runtime_api import MAX_RESPONSE_BYTES, RuntimeApi
from .spec import (
    ConcurrencyLimitExceeded,
    FunctionSpec,
    InvokeResult,
    LambdaRuntimeError,
    RuntimeNotSupported,
)

__all__ = [
    "AWS_PROVIDED_PACKAGES",
    "MAX_RESPONSE_BYTES",
    "RESERVED",
    "CodeStore",
    "ConcurrencyLimitExceeded",
    "ExecutionEnvironment",
    "FunctionSpec",
    "InvokeResult",
    "LambdaRuntime",
    "LambdaRuntimeError",
    "RuntimeApi",
    "RuntimeNotSupported",
    "awslambdaric_dir",
    "build_environ",
]
