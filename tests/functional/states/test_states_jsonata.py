"""JSONata workflows offline: every state type that takes JSONata, variables along a walk, AWS's functions.

The workflow is tests/data/states/jsonata_orders.json (QueryLanguage JSONata on the machine): a Pass
that assigns, a Choice on a Condition, a Task with Arguments/Output/Assign, Retry and a Catch, a Wait
on a Seconds expression, a mocked Map and Parallel, a Succeed and a Fail built from expressions.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from iatk.exceptions import StateTestError
from iatk.states import test_state, walk_states

ORDER = {"id": "o-1", "lines": [{"sku": "a", "qty": 2, "price": 30}, {"sku": "b", "qty": 1, "price": 50}]}
CHARGED = {"result": {"Payload": {"receipt": "r-9"}, "StatusCode": 200}}
MOCKS = {
    "Charge": CHARGED,
    "Pack": {"result": [{"sku": "a"}, {"sku": "b"}]},
    "Notify": {"result": ["mailed", "texted"]},
}
VARIABLES = {"orderId": "o-1", "lines": ORDER["lines"]}


@pytest.fixture
def orders(make_machine) -> str:
    return make_machine("jsonata_orders.json")


class TestEveryStateType:
    def test_pass_assigns_and_outputs(self, sfn_session, orders):
        result = test_state(orders, "Start order", ORDER, session=sfn_session)
        result.expect_next("Size").expect_output({"total": 110})
        assert result.inspection.variables == VARIABLES
        assert result.inspection.input == ORDER

    @pytest.mark.parametrize(("total", "tier"), [(110, "big"), (20, "small")])
    def test_choice_condition_and_its_assign(self, sfn_session, orders, total, tier):
        """The matching rule's Assign, or the state's own when the Default is taken."""
        result = test_state(orders, "Size", {"total": total}, session=sfn_session)
        result.expect_next("Charge").expect_output({"total": total})
        assert result.inspection.variables == {"tier": tier}

    def test_task_arguments_output_and_assign_read_variables(self, sfn_session, orders):
        result = test_state(
            orders, "Charge", {"total": 110}, mock=CHARGED, variables={**VARIABLES, "tier": "big"}, session=sfn_session
        )
        result.expect_next("Settle").expect_output({"receipt": "r-9", "total": 110})
        assert result.inspection.after_arguments == {
            "FunctionName": "charge",
            "Payload": {"order": "o-1", "amount": 110, "tier": "big"},
        }
        assert result.inspection.result == CHARGED["result"]
        assert result.inspection.variables == {**VARIABLES, "tier": "big", "receipt": "r-9"}

    def test_task_catch_output_and_assign_see_the_error_output(self, sfn_session, orders):
        result = test_state(
            orders,
            "Charge",
            {"total": 110},
            mock={"error": "Card.Declined", "cause": "insufficient funds"},
            variables={**VARIABLES, "tier": "big"},
            session=sfn_session,
        )
        assert (result.status, result.next_state) == ("CAUGHT_ERROR", "Declined")
        assert result.output == {"declined": "insufficient funds", "order": "o-1"}
        assert result.inspection.variables["why"] == "Card.Declined"
        assert result.inspection.error_details == {"catchIndex": 0}

    def test_task_retry(self, sfn_session, orders):
        busy = {"error": "Card.Busy"}
        first = test_state(
            orders, "Charge", {"total": 1}, mock=busy, variables=VARIABLES | {"tier": "x"}, session=sfn_session
        )
        assert first.status == "RETRIABLE"
        assert first.inspection.error_details == {"retryIndex": 0, "retryBackoffIntervalSeconds": 3}
        spent = test_state(
            orders,
            "Charge",
            {"total": 1},
            mock=busy,
            variables=VARIABLES | {"tier": "x"},
            state_configuration={"retrierRetryCount": 2},
            session=sfn_session,
        )
        assert (spent.status, spent.error) == ("FAILED", "Card.Busy")
        assert spent.inspection.error_details == {"retryIndex": 0}

    def test_wait_seconds_expression(self, sfn_session, orders):
        result = test_state(orders, "Settle", {"receipt": "r-9"}, variables=VARIABLES, session=sfn_session)
        result.expect_next("Pack").expect_output({"receipt": "r-9", "settledFor": 4})

    def test_map_items_and_output(self, sfn_session, orders):
        result = test_state(
            orders, "Pack", {}, mock=MOCKS["Pack"], variables={**VARIABLES, "receipt": "r-9"}, session=sfn_session
        )
        result.expect_next("Notify").expect_output({"packed": 2, "receipt": "r-9"})
        assert result.inspection.max_concurrency == 2

    def test_parallel_arguments_and_output(self, sfn_session, orders):
        result = test_state(
            orders, "Notify", {"packed": 2}, mock=MOCKS["Notify"], variables=VARIABLES, session=sfn_session
        )
        result.expect_next("Done").expect_output({"packed": 2, "notified": ["mailed", "texted"]})

    def test_succeed_output(self, sfn_session, orders):
        result = test_state(
            orders, "Done", {"packed": 2}, variables={**VARIABLES, "receipt": "r-9"}, session=sfn_session
        )
        assert result.status == "SUCCEEDED"
        tag = hashlib.md5(b"o-1").hexdigest()
        assert result.output == {"order": "o-1", "receipt": "r-9", "packed": 2, "tag": tag}

    def test_fail_error_and_cause_expressions(self, sfn_session, orders):
        result = test_state(
            orders,
            "Declined",
            {"order": "o-1", "declined": "no funds"},
            variables={"why": "Card.Declined"},
            session=sfn_session,
        )
        assert (result.status, result.error, result.cause) == ("FAILED", "Order.Card.Declined", "order o-1: no funds")

    def test_an_undefined_variable_fails_the_expression(self, sfn_session, orders):
        result = test_state(orders, "Charge", {"total": 1}, mock=CHARGED, session=sfn_session)
        result.expect_error("States.QueryEvaluationError", cause="$orderId")


class TestWalk:
    def test_variables_carry_from_state_to_state(self, sfn_session, orders):
        """Assign in one state is read by later ones: the walk passes each step's variables on."""
        path = walk_states(orders, ORDER, mocks=MOCKS, session=sfn_session)
        path.expect_path(["Start order", "Size", "Charge", "Settle", "Pack", "Notify", "Done"])
        assert path.last.output["order"] == "o-1"
        assert path.last.output["receipt"] == "r-9"
        assert path.last.output["packed"] == 2
        assert path[2].inspection.after_arguments["Payload"] == {"order": "o-1", "amount": 110, "tier": "big"}
        assert path.last.inspection.variables == {**VARIABLES, "tier": "big", "receipt": "r-9"}

    def test_a_caught_error_walks_to_the_fail_state_with_its_variables(self, sfn_session, orders):
        mocks = {**MOCKS, "Charge": {"error": "Card.Declined", "cause": "no funds"}}
        path = walk_states(orders, ORDER, mocks=mocks, session=sfn_session)
        path.expect_path(["Start order", "Size", "Charge", "Declined"])
        path.last.expect_error("Order.Card.Declined", cause="order o-1: no funds")

    def test_a_walk_at_info_level_still_carries_variables(self, sfn_session, orders):
        path = walk_states(orders, ORDER, mocks=MOCKS, inspection_level="INFO", session=sfn_session)
        assert path.last.output["receipt"] == "r-9"

    def test_an_unmocked_map_stops_the_walk_with_how_to_mock_it(self, sfn_session, orders):
        mocks = {k: v for k, v in MOCKS.items() if k != "Pack"}
        with pytest.raises(StateTestError, match="mocks=\\{'Pack'") as caught:
            walk_states(orders, ORDER, mocks=mocks, session=sfn_session)
        assert caught.value.code == "InvalidDefinition"


AWS_FUNCTIONS = [
    ("{% $partition([1, 2, 3, 4, 5], 2) %}", [[1, 2], [3, 4], [5]]),
    ("{% $range(0, 10, 5) %}", [0, 5, 10]),
    ("{% $hash('input data', 'SHA-256') %}", hashlib.sha256(b"input data").hexdigest()),
    ("{% $hash('input data', 'MD5') %}", hashlib.md5(b"input data").hexdigest()),
    ("{% $parse('{\"a\": [1, null]}') %}", {"a": [1, None]}),
    ("{% $random(7) = $random(7) %}", True),
    ("{% $random() >= 0 and $random() < 1 %}", True),
    ("{% $length($uuid()) %}", 36),
    ("{% $uuid() = $uuid() %}", False),
]


@pytest.mark.parametrize(("expression", "expected"), AWS_FUNCTIONS, ids=[e for e, _ in AWS_FUNCTIONS])
def test_the_functions_step_functions_adds_to_jsonata(sfn_session, expression, expected):
    """$partition, $range, $hash, $random, $uuid and $parse, as the developer guide describes them."""
    sfn = sfn_session.client("stepfunctions")
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "F",
        "States": {"F": {"Type": "Pass", "Output": expression, "End": True}},
    }
    arn = sfn.create_state_machine(
        name=f"fn-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
    )["stateMachineArn"]
    try:
        assert test_state(arn, "F", {}, session=sfn_session).output == expected
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
