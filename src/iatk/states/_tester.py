"""The ``iatk_states`` fixture's object: :func:`test_state` and :func:`walk_states` on one session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._machine import StateMachineRef
from ._results import StatePath, StateResult
from ._test_state import test_state
from ._walk import walk_states

if TYPE_CHECKING:
    import boto3

__all__ = ["StateTester"]


class StateTester:
    """:func:`test_state` and :func:`walk_states` bound to one session (the ``iatk_states`` fixture).

    Example::

        def test_routing(iatk_states, iatk_stack):
            workflow = (iatk_stack(), "PluginLifecycleWorkflow")
            iatk_states.test_state(workflow, "Choose hook", {"kind": "postValidate"}).expect_next("Post-validate")
    """

    __test__ = False  # not a test class, whatever pytest's naming rules say

    def __init__(self, session: boto3.Session | None = None) -> None:
        self.session = session

    def test_state(self, state_machine: StateMachineRef, state: str, input: Any = None, **kwargs: Any) -> StateResult:
        """:func:`test_state` with this tester's session."""
        __tracebackhide__ = True
        kwargs.setdefault("session", self.session)
        return test_state(state_machine, state, input, **kwargs)

    def walk_states(self, state_machine: StateMachineRef, input: Any = None, **kwargs: Any) -> StatePath:
        """:func:`walk_states` with this tester's session."""
        __tracebackhide__ = True
        kwargs.setdefault("session", self.session)
        return walk_states(state_machine, input, **kwargs)
