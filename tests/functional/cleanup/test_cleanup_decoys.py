"""Cleanup deletes exactly what its filters select, and never a look-alike without iatk's tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from cleanup_harness import (
    harness_keys,
    make_harness,
    make_queue,
    make_rule,
    make_stack,
    snapshot,
    stack_queue_keys,
)

from iatk import _tags
from iatk.cleanup import cleanup, find_harness_resources

NOW = datetime.now(timezone.utc)
HOURS_AGO_3 = NOW - timedelta(hours=3)


@dataclass
class World:
    """One account holding iatk resources of several runs, aws-iatk's, and decoys."""

    groups: dict[str, set] = field(default_factory=dict)
    decoys: set = field(default_factory=set)
    mismatched: set = field(default_factory=set)
    everything: set = field(default_factory=set)

    def keys(self, *names: str) -> set:
        return set().union(*(self.groups[n] for n in names))


def _stack(session, name, tags):
    make_stack(session, name, tags)
    return {("stack", name)} | stack_queue_keys(session, name)


def build_world(s) -> World:
    """Build the world in an empty account: 12 groups of iatk/aws-iatk resources and 24 decoys."""
    w = World()
    two_h = timedelta(hours=2)
    # Run A, made now; A1 carries the user tag team=payments.
    a1 = make_harness(s, run_id="run-a", user_tags={"team": "payments"})
    a2 = make_harness(s, run_id="run-a")
    w.groups["A1"] = harness_keys([a1])
    w.groups["A2"] = harness_keys([a2])
    w.groups["A-orphan-rule"] = harness_keys([make_harness(s, run_id="run-a", queue=False)], queue=False)
    w.groups["A-stack"] = _stack(s, "stack-a", _tags.deploy_tags("run-a", two_h))
    # Run B: B1 made 3 h ago with a 2 h ttl (old, expired); B2 made now on a custom bus (team=search).
    w.groups["B1"] = harness_keys([make_harness(s, run_id="run-b", created=HOURS_AGO_3)])
    b2 = make_harness(s, run_id="run-b", bus="orders", user_tags={"team": "search"})
    w.groups["B2"] = harness_keys([b2], bus="orders")
    w.groups["B-stack"] = _stack(s, "stack-b", _tags.deploy_tags("run-b", timedelta(hours=1), now=HOURS_AGO_3))
    # Run C: 30 min old with a 1 s ttl (expired, not old). Run D: 3 h old with a 1 day ttl (old, not expired).
    c_made = NOW - timedelta(minutes=30)
    w.groups["C"] = harness_keys([make_harness(s, run_id="run-c", created=c_made, ttl=timedelta(seconds=1))])
    d_made = HOURS_AGO_3
    w.groups["D"] = harness_keys([make_harness(s, run_id="run-d", created=d_made, ttl=timedelta(days=1))])
    # aws-iatk 0.1.0's: no run id, no expiry (expires = created + 2 h).
    w.groups["L-old"] = harness_keys([make_harness(s, legacy=True, created=HOURS_AGO_3)])
    l_new = make_harness(s, legacy=True, created=NOW - timedelta(minutes=30), user_tags={"team": "payments"})
    w.groups["L-new"] = harness_keys([l_new])

    # Decoys: they look like harness resources, but lack iatk's ID tag (or are a user's own).
    d = set()
    prefix = _tags.HARNESS_PREFIX
    for _ in range(2):  # 1-4: the name prefix, no tags at all
        name = _tags.new_harness_id()
        make_rule(s, name, target=make_queue(s, name))
        d |= harness_keys([name])
    for bus in ("default", "orders"):  # 5-8: every iatk tag but the ID, incl. run-a's run id and old/expired times
        name = _tags.new_harness_id()
        tags = _tags.harness_tags(name, target_arn="x", run_id="run-a", ttl=timedelta(seconds=1), now=HOURS_AGO_3)
        tags.pop(_tags.TAG_ID)
        tags["team"] = "payments"
        make_rule(s, name, bus, tags, make_queue(s, name, tags))
        d |= harness_keys([name], bus=bus)
    name = prefix + "my_own_queue"  # 9-10: a user's queue and rule with the prefix and their own tags
    make_rule(s, name, tags={"team": "payments"}, target=make_queue(s, name, {"team": "payments"}))
    d |= harness_keys([name])
    make_rule(s, "orders-to-inbox", "orders", {"team": "payments"}, make_queue(s, "orders-inbox"))  # 11-12
    d |= {("rule", "orders/orders-to-inbox"), ("queue", "orders-inbox")}
    name = _tags.new_harness_id()  # 13-14: the ID key spelt in another case
    odd = {"IATK:TestHarness:ID": name, _tags.TAG_RUN_ID: "run-a", _tags.TAG_CREATED: _tags.rfc3339(HOURS_AGO_3)}
    make_rule(s, name, tags=odd, target=make_queue(s, name, odd))
    d |= harness_keys([name])
    name = "listener_" + _tags.new_xid()  # 15-16: full iatk tags, but not the harness name prefix
    make_harness(s, run_id="run-a", harness_id=name, created=HOURS_AGO_3, ttl=timedelta(seconds=1))
    d |= harness_keys([name])
    for index in range(4):  # 17-20: untagged prefix queues and a rule on the custom bus
        name = _tags.new_harness_id()
        if index == 3:
            make_rule(s, name, "orders")
            d.add(("rule", f"orders/{name}"))
        else:
            make_queue(s, name)
            d.add(("queue", name))
    # 21-24: stacks without the deploy tag (one with run-a's tags but iatk:deploy=false)
    not_deployed = _tags.deploy_tags("run-a", timedelta(seconds=1), now=HOURS_AGO_3)
    not_deployed[_tags.TAG_DEPLOY] = "false"
    d |= _stack(s, "user-stack-a", not_deployed)
    no_deploy_key = dict(not_deployed)
    no_deploy_key.pop(_tags.TAG_DEPLOY)
    d |= _stack(s, "user-stack-b", no_deploy_key)
    w.decoys = d
    # Tagged, prefixed, but the ID tag names another harness: listed, never deleted (skipped with a reason).
    name = _tags.new_harness_id()
    make_harness(s, run_id="run-a", harness_id=name, override={_tags.TAG_ID: _tags.new_harness_id()})
    w.mismatched = harness_keys([name])

    w.everything = snapshot(s)
    assert len(w.decoys) >= 24
    assert w.decoys <= w.everything
    return w


FILTERS = {
    "run-id": ({"run_id": "run-a"}, ["A1", "A2", "A-orphan-rule", "A-stack"]),
    "older-than": ({"older_than": "1h"}, ["B1", "B-stack", "D", "L-old"]),
    "older-than-timedelta": ({"older_than": timedelta(minutes=90)}, ["B1", "B-stack", "D", "L-old"]),
    "expired": ({"expired": True}, ["B1", "B-stack", "C", "L-old"]),
    "tag-value": ({"tags": {"team": "payments"}}, ["A1", "L-new"]),
    "tag-key": ({"tags": {"team": None}}, ["A1", "B2", "L-new"]),
    "and": ({"run_id": "run-a", "tags": {"team": "payments"}}, ["A1"]),
    "expired-and-old": ({"expired": True, "older_than": 3600}, ["B1", "B-stack", "L-old"]),
}


def _keys(resources) -> set:
    """Snapshot keys of records (a rule is keyed bus/name)."""
    return {("rule", f"{r.bus.rsplit('/', 1)[1]}/{r.id}") if r.kind == "rule" else (r.kind, r.id) for r in resources}


def _made_by_stacks(keys) -> set:
    """The queues CloudFormation made inside the test stacks (deleted with their stack, not by name)."""
    return {k for k in keys if k[0] == "queue" and not k[1].startswith(("iatk_eb_", "listener_", "orders-"))}


@pytest.fixture(scope="module")
def world(module_account) -> World:
    """One world for the read-only tests (dry runs and listings)."""
    return build_world(module_account.session)


@pytest.mark.parametrize("case", list(FILTERS))
def test_each_filter_selects_exactly_its_set(module_account, world, case):
    """A dry run with each filter plans exactly the selected iatk resources: no decoy, no other run's."""
    kwargs, groups = FILTERS[case]
    expected = world.keys(*groups) - _made_by_stacks(world.everything)
    report = cleanup(**kwargs, dry_run=True, session=module_account.session)
    assert _keys(report.planned) == expected
    assert not report.deleted
    assert not report.failed
    assert snapshot(module_account.session) == world.everything


def test_filters_in_turn_delete_exactly_their_sets(account):
    """Run for real, one filter after another: each deletes exactly what it selects of what is left."""
    w = build_world(account.session)
    left = set(w.everything)
    for case, (kwargs, groups) in FILTERS.items():
        report = cleanup(**kwargs, session=account.session)
        expected = w.keys(*groups) & left
        now = snapshot(account.session)
        assert left - now == expected, case
        assert _keys(report.deleted) == expected - _made_by_stacks(expected), case
        assert w.decoys <= now, case
        assert w.mismatched <= now, case
        assert report.ok, case
        left = now
    assert left == w.decoys | w.mismatched  # every group was selected by one filter or another


def test_mismatched_id_tag_is_skipped_with_reason(module_account, world):
    """A prefixed resource whose ID tag names another harness is listed but skipped, with the reason."""
    report = cleanup(run_id="run-a", dry_run=True, session=module_account.session)
    mismatched = [s for s in report.skipped if ("queue", s.resource.id) in world.mismatched]
    assert len(mismatched) == 2, report.skipped
    assert all("does not match its name" in s.reason for s in mismatched)


def test_everything_removes_all_iatk_resources_and_no_decoy(account):
    """everything=True removes every iatk and aws-iatk resource, and only those."""
    w = build_world(account.session)
    report = cleanup(everything=True, session=account.session)
    assert snapshot(account.session) == w.decoys | w.mismatched
    assert report.ok
    assert len(report.skipped) == 2  # the mismatched pair


def test_find_lists_only_tagged_resources(module_account, world):
    """find_harness_resources returns iatk-tagged resources only: never a decoy."""
    found = find_harness_resources(session=module_account.session)
    iatk_made = world.everything - world.decoys
    assert _keys(found) == iatk_made - _made_by_stacks(iatk_made)
