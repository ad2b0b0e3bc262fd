"""Durations and wait schedules that are not finite numbers: a ConfigError that names the parameter."""

from __future__ import annotations

import math

import pytest

from iatk._config import parse_duration
from iatk.exceptions import ConfigError
from iatk.waiting import Deadline, wait_until


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf", "1e400"])
@pytest.mark.parametrize("name", ["within", "during", "ttl", "older_than"])
def test_a_duration_that_is_not_finite_names_its_parameter(name: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        parse_duration(value, name=name)


@pytest.mark.parametrize("keyword", ["interval", "max_interval", "backoff", "jitter"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_wait_schedule_that_is_not_finite_names_its_parameter(keyword: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"{keyword} must be a finite number; got {keyword}={value!r}"):
        wait_until(lambda: 1, timeout=1, description="x", **{keyword: value})


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_deadline_that_is_not_finite_names_timeout(value: float) -> None:
    with pytest.raises(ConfigError, match="^timeout: .*got timeout="):
        Deadline(value)
