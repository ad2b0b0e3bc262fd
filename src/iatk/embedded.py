"""The embedded backend: a moto server in the test process, so a suite runs with no AWS account.

:class:`EmbeddedBackend` starts a moto server on ``127.0.0.1`` (a free port), turns on moto's Step
Functions interpreter so state machines really execute, and runs a UDP relay that speaks the X-Ray
daemon protocol and forwards each segment to the server's ``PutTraceSegments``. Code under test that
uses aws-xray-sdk finds the relay through ``AWS_XRAY_DAEMON_ADDRESS``.

Without pytest::

    with iatk.embedded_session() as session:
        stack = iatk.deploy_stack("template.yaml", "my-app", session=session)

Under pytest, ``--iatk-backend=moto`` does the same once per run (on the xdist controller; workers get
the server's URL).

This module is the public face; the parts live in :mod:`iatk._backend.moto` (the server, the
fix-ups of moto, the X-Ray relay, the template leave-outs, the state-machine copies).
"""

from __future__ import annotations

# __all__ is the public API. The other names stay importable from here, as before the move: a moto
# server started in another process calls serialise_moto_events() before it serves, and tests switch
# execution mode with set_stepfunctions_execution.
from ._backend.moto.control import set_stepfunctions_execution  # noqa: F401
from ._backend.moto.patches import serialise_moto_events  # noqa: F401
from ._backend.moto.server import ENV_URL, EmbeddedBackend, embedded_session  # noqa: F401
from ._backend.moto.stepfunctions import make_state_machines_executable, mirror_cfn_state_machines  # noqa: F401
from ._backend.moto.xray_relay import DAEMON_HEADER, ENV_XRAY, XRayRelay  # noqa: F401

__all__ = ["EmbeddedBackend", "XRayRelay", "embedded_session"]
