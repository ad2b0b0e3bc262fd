"""An unknown region on the embedded backend: refused before the server starts, with the closest regions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from iatk.embedded import EmbeddedBackend
from iatk.exceptions import ConfigError
from iatk.listener import Listener


def test_an_unknown_region_is_refused_with_the_closest_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown region 'us-east-7' for the embedded backend: did you mean us-east-"
    ):
        EmbeddedBackend("us-east-7")


def test_a_known_region_of_another_partition_is_accepted() -> None:
    assert EmbeddedBackend("cn-north-1").region == "cn-north-1"


def test_the_plugin_stops_with_the_message_not_an_html_page(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_any="def test_any(iatk_session):\n    iatk_session.client('sqs').list_queues()\n")
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "--iatk-region=nowhere-1", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stderr.str() + result.stdout.str()
    assert "unknown region 'nowhere-1' for the embedded backend" in text
    assert "<html" not in text.lower()


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_wait_window_that_is_not_finite_names_within(moto_session: Any, value: float) -> None:
    with Listener("default", pattern={"source": ["nobody"]}, session=moto_session) as listener:
        with pytest.raises(ConfigError, match="^within: must be a finite number of seconds"):
            listener.expect_event(within=value)
        with pytest.raises(ConfigError, match="^during: must be a finite number of seconds"):
            listener.expect_no_event(during=value)
