"""aws-xray-sdk's global recorder sends to the embedded backend's X-Ray relay, whenever it was imported.

aws-xray-sdk builds its recorder's UDP emitter when ``aws_xray_sdk.core`` is first imported, from
``AWS_XRAY_DAEMON_ADDRESS`` as it is then. Starting the embedded backend imports it too (moto's
``moto.xray`` does), so the relay's address must be exported before that; and a recorder a conftest
imported before the backend started must be pointed at the relay. Each case runs in a fresh
interpreter, since what matters is what the process imported before and during the start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

PROCESS = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "imported-first":
        from aws_xray_sdk.core import xray_recorder  # a conftest's import, before the backend starts
    import iatk
    from iatk.embedded import EmbeddedBackend

    with EmbeddedBackend() as backend:
        from aws_xray_sdk.core import xray_recorder

        xray_recorder.configure(sampling=False, context_missing="LOG_ERROR")
        header = iatk.new_trace_header()
        xray_recorder.begin_segment("tester", traceid=header.root, sampling=1)
        with xray_recorder.in_subsegment("step"):
            pass
        xray_recorder.end_segment()
        tree = iatk.get_trace_tree(header, within=10, session=backend.session())
        emitter = xray_recorder.emitter
        print(json.dumps({
            "names": [segment.name for segment in tree.segments],
            "emitter": f"{emitter._ip}:{emitter._port}",
            "relay": backend.xray_address,
        }))
    print(json.dumps({"emitter_after": f"{xray_recorder.emitter._ip}:{xray_recorder.emitter._port}"}))
    """
)


@pytest.mark.parametrize("when", ["imported-after-start", "imported-first"])
def test_an_aws_xray_sdk_segment_reaches_the_embedded_backend(when: str) -> None:
    env = {key: value for key, value in os.environ.items() if key != "AWS_XRAY_DAEMON_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, when], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    during, after = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert during["emitter"] == during["relay"]
    assert during["names"] == ["tester"]
    if when == "imported-first":  # pointed back at the SDK's default when the backend stops
        assert after["emitter_after"] == "127.0.0.1:2000"
