"""StateResult's expectations and rendering, StatePath, and pytest not collecting test_state."""

from __future__ import annotations

import pytest

from iatk.states import StateInspection, StatePath, StateResult


def _result(**kwargs) -> StateResult:
    values = {
        "state": "Post-validate",
        "status": "SUCCEEDED",
        "next_state": "Wait for plugin",
        "output": {"inputs": {"pluginId": "p1"}, "validation": {"ok": True, "checks": [1, 2]}},
        "state_type": "Task",
    }
    values.update(kwargs)
    return StateResult(**values)


class TestExpectations:
    def test_expect_next_passes_and_returns_the_result(self):
        """A matching next state returns the same result, for chaining."""
        result = _result()
        assert result.expect_next("Wait for plugin") is result

    def test_expect_next_fails_with_the_whole_result(self):
        """A different next state raises AssertionError showing the state, status and output."""
        with pytest.raises(AssertionError) as caught:
            _result().expect_next("Publish")
        text = str(caught.value)
        assert "expected next state 'Publish', got 'Wait for plugin'" in text
        assert "state 'Post-validate' (Task) → SUCCEEDED, next 'Wait for plugin'" in text
        assert '"pluginId": "p1"' in text

    def test_expect_next_none_means_an_end(self):
        """expect_next(None) asserts the state ends the workflow."""
        _result(next_state=None).expect_next(None)
        with pytest.raises(AssertionError, match="expected no next state"):
            _result().expect_next(None)

    def test_expect_output_matches_a_nested_subset(self):
        """Extra keys at any depth are fine; lists compare element by element."""
        _result().expect_output({"validation": {"ok": True}})
        _result().expect_output({"validation": {"checks": [1, 2]}, "inputs": {}})

    @pytest.mark.parametrize(
        ("subset", "message"),
        [
            ({"validation": {"ok": False}}, r"\$\.validation\.ok: expected false, got true"),
            ({"validation": {"report": "x"}}, r"\$\.validation\.report: missing \(keys there: ok, checks\)"),
            ({"validation": {"checks": [1]}}, r"\$\.validation\.checks: expected a list of 1"),
            ({"validation": {"checks": [1, 3]}}, r"\$\.validation\.checks\[1\]: expected 3, got 2"),
            ({"inputs": {"pluginId": {"id": 1}}}, r"\$\.inputs\.pluginId: expected an object"),
            ({"validation": {"ok": 1}}, r"\$\.validation\.ok: expected 1, got true"),
        ],
    )
    def test_expect_output_names_the_first_difference(self, subset, message):
        """A mismatch names the JSON path and both values."""
        with pytest.raises(AssertionError, match=message):
            _result().expect_output(subset)

    def test_expect_output_on_a_failed_state_fails(self):
        """A failed state has no output to match."""
        with pytest.raises(AssertionError, match="the state ended FAILED"):
            _result(status="FAILED", output=None, error="E").expect_output({})

    def test_expect_error_checks_code_and_cause(self):
        """The error name must be equal; the cause must contain the given text."""
        failed = _result(status="FAILED", next_state=None, output=None, error="States.TaskFailed", cause="boom here")
        failed.expect_error("States.TaskFailed").expect_error("States.TaskFailed", cause="boom")
        with pytest.raises(AssertionError, match="expected error 'States.Timeout', got error 'States.TaskFailed'"):
            failed.expect_error("States.Timeout")
        with pytest.raises(AssertionError, match="cause to contain 'bang'"):
            failed.expect_error("States.TaskFailed", cause="bang")

    def test_expect_error_on_success_says_there_was_none(self):
        """expect_error on a succeeded state reports that no error happened."""
        with pytest.raises(AssertionError, match=r"got no error \(status SUCCEEDED\)"):
            _result().expect_error("States.ALL")


class TestRendering:
    def test_render_shows_inspection_stages_and_the_error(self):
        """The text names the error, the cause and every reported stage."""
        result = _result(
            status="CAUGHT_ERROR",
            next_state="Report rejection",
            error="Validation.Rejected",
            cause="bad",
            inspection=StateInspection(input={"a": 1}, error_details={"catchIndex": 0}),
            offline=True,
        )
        text = result.render()
        assert text.splitlines()[0] == (
            "state 'Post-validate' (Task) → CAUGHT_ERROR, next 'Report rejection' [offline: embedded backend]"
        )
        assert "  error: Validation.Rejected — cause: bad" in text
        assert '  input: {"a": 1}' in text
        assert '  error_details: {"catchIndex": 0}' in text
        assert str(result) == text

    def test_long_values_are_cut(self):
        """A huge output is shortened in the message, with its length."""
        text = _result(output={"blob": "x" * 5000}).render()
        assert "… (5012 characters)" in text
        assert len(text) < 2000


class TestStatePath:
    def test_names_last_and_expect_path(self):
        """A StatePath is a list with the names in order, the last step, and an assertion on the path."""
        path = StatePath([_result(state="A", next_state="B"), _result(state="B", next_state=None)])
        assert path.names == ["A", "B"]
        assert path.last.state == "B"
        assert path.expect_path(["A", "B"]) is path
        with pytest.raises(AssertionError, match="expected the path A → C\n     got the path A → B"):
            path.expect_path(["A", "C"])

    def test_last_of_an_empty_path_is_an_index_error(self):
        """An empty path has no last step."""
        with pytest.raises(IndexError):
            _ = StatePath().last


def test_pytest_does_not_collect_the_api_when_imported(pytester):
    """Importing test_state and StateTester into a test module adds no tests to the collection."""
    pytester.makepyfile(
        """
        from iatk.states import test_state, StateTester, walk_states

        def test_real():
            assert callable(test_state)
        """
    )
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*test_real*", "1 test collected*"])
    assert "test_state" not in result.stdout.str()
