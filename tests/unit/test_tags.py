"""Harness ids, run ids and tags."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from iatk import _tags
from iatk.exceptions import ConfigError


def test_harness_id_has_aws_iatk_shape():
    """Ids are iatk_eb_ + 20 base32hex characters (28 in all), like aws-iatk's."""
    ids = {_tags.new_harness_id() for _ in range(500)}
    assert len(ids) == 500
    for harness_id in ids:
        assert len(harness_id) == 28
        assert _tags.is_harness_id(harness_id)


def test_is_harness_id_rejects_look_alikes():
    """Same prefix but a wrong suffix is not a harness id."""
    assert not _tags.is_harness_id("iatk_eb_myqueue")
    assert not _tags.is_harness_id("iatk_eb_" + "w" * 20)
    assert not _tags.is_harness_id("other_" + "0" * 20)


def test_harness_tags_carry_run_and_expiry():
    """The tags hold aws-iatk's four keys plus run id, expiry and owner, and the user's tags."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    tags = _tags.harness_tags(
        "iatk_eb_x",
        target_arn="arn:bus",
        run_id="r1",
        ttl=timedelta(hours=2),
        user_tags={"team": "a"},
        now=now,
        owner="ci-7/42/2026-01-02T03:00:00Z",
    )
    assert tags == {
        "team": "a",
        "iatk:TestHarness:ID": "iatk_eb_x",
        "iatk:TestHarness:Type": "EventBridge.Listener",
        "iatk:TestHarness:Target": "arn:bus",
        "iatk:TestHarness:Created": "2026-01-02T03:04:05Z",
        "iatk:run-id": "r1",
        "iatk:expires-at": "2026-01-02T05:04:05Z",
        "iatk:owner": "ci-7/42/2026-01-02T03:00:00Z",
    }


def test_the_owner_is_host_pid_and_start_and_defaults_to_this_process():
    """iatk:owner reads back as (host, pid, start); harness and deploy tags carry this run's by default."""
    import os

    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    owner = _tags.new_owner(now)
    assert _tags.parse_owner(owner) == (_tags.this_host(), os.getpid(), now)
    assert _tags.parse_owner("not an owner") is None
    before = _tags.current_owner()
    with _tags.override_owner(owner):
        assert _tags.deploy_tags("r1", timedelta(hours=1))["iatk:owner"] == owner
        tags = _tags.harness_tags("iatk_eb_x", target_arn="arn:bus", run_id="r1", ttl=timedelta(hours=1))
        assert tags["iatk:owner"] == owner
    assert _tags.current_owner() == before  # handed back


@pytest.mark.parametrize("key", sorted(_tags.RESERVED_KEYS))
def test_reserved_tag_keys_are_rejected(key):
    """A user tag may not use a key iatk sets itself."""
    with pytest.raises(ConfigError, match="reserved tag key"):
        _tags.check_user_tags({key: "x"})


def test_parse_time_round_trips_rfc3339():
    """parse_time reads what rfc3339 writes, and offsets too."""
    moment = datetime(2026, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert _tags.parse_time(_tags.rfc3339(moment)) == moment
    assert _tags.parse_time("2023-11-09T10:15:00-08:00") == datetime(2023, 11, 9, 18, 15, tzinfo=timezone.utc)
    assert _tags.parse_time("yesterday") is None


def test_tag_list_round_trip():
    """Key/Value lists convert both ways."""
    tags = {"a": "1", "b": "2"}
    assert _tags.from_tag_list(_tags.as_tag_list(tags)) == tags


def test_override_run_id_hands_back_the_previous_id(monkeypatch):
    """override_run_id() fixes the run id for a block; after it the previous one (or a fresh one) is back."""
    monkeypatch.setattr(_tags, "_run_id", "outer-run")
    with _tags.override_run_id("inner-run") as run_id:
        assert run_id == "inner-run"
        assert _tags.current_run_id() == "inner-run"
    assert _tags.current_run_id() == "outer-run"
    monkeypatch.setattr(_tags, "_run_id", None)
    monkeypatch.setenv("IATK_RUN_ID", "from-env")
    with _tags.override_run_id("inner-run"):
        pass
    assert _tags.current_run_id() == "from-env"  # nothing was fixed before: made again on first use
