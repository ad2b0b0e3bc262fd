"""Step Functions state tests: run one state of a deployed workflow, or walk a path, from a test.

On AWS, :func:`test_state` calls the TestState API with the deployed definition, a ``stateName``, an
input and optionally a mock, and returns a :class:`StateResult` (status, next state, output, error,
inspection data). :func:`walk_states` chains those calls from the start state, following
``next_state``, and returns the path taken.

moto has no TestState. On the embedded backend the state runs on moto's own ASL interpreter instead:
a temporary state machine holds the state, every transition out of it goes to a *recorder* (a Pass
state that wraps the output with the name of the state that would come next), a mocked Task becomes a
chain of Pass states that replays the Task's data flow around the mock's result (or a Fail, or the
matching catcher's route, for a mocked error), and Retry is decided here rather than by moto. One
execution per state (50–100 ms on the embedded server); the temporary state machine is always deleted.

Offline fidelity (the embedded backend):

============================  ==========================================================
field                         offline
============================  ==========================================================
status, next_state            complete (RETRIABLE is decided from the state's Retry)
output, error                 complete (moto's ``States.Runtime`` for an unmatched Choice
                              is reported as ``States.NoChoiceMatched``)
cause                         complete for mocks and Fail states; moto's wording for the
                              errors of real Tasks
inspection.input              complete
inspection.after_input_path,  mocked Task/Map/Parallel: complete; real Task: after_parameters
after_parameters, result,     and result from the execution history; other states: absent
after_result_selector,
after_result_path
inspection.variables          only the variables the state itself assigns
inspection.request/response   absent (TRACE level is AWS only)
============================  ==========================================================

Not offline: JSONata states, reading variables, ``context`` and the Map settings of
``state_configuration`` (moto cannot evaluate them; a :class:`~iatk.exceptions.StateTestError`
says so). A Wait state does not wait offline. A moto server with its Step Functions execution mode
off only pretends to run executions; that is noticed (after half a second) and reported with how to
turn it on, rather than waited out.

Against AWS, a non-AWS endpoint that lacks TestState (moto's HTML 500, ``UnknownOperationException``)
is reported as such, pointing to the emulation.
"""

# The package: _results.py (StateResult, StatePath, StateInspection and their expect_* checks),
# _machine.py (the deployed definition, read once per session), _test_state.py (the TestState call),
# _walk.py (walk_states), _tester.py (StateTester, the iatk_states fixture's object). The offline
# emulator is iatk._backend.moto.states, which _test_state imports on embedded sessions only.
from __future__ import annotations

from iatk.exceptions import MaxStepsReached

# Importable from iatk.states as before, outside __all__ (the "as" marks them re-exported).
from ._machine import StateMachineRef as StateMachineRef
from ._results import STATUSES as STATUSES
from ._results import StateInspection, StatePath, StateResult
from ._test_state import INSPECTION_LEVELS as INSPECTION_LEVELS
from ._test_state import MOCKABLE_TYPES as MOCKABLE_TYPES
from ._test_state import test_state
from ._tester import StateTester
from ._walk import walk_states

__all__ = [
    "MaxStepsReached",
    "StateInspection",
    "StatePath",
    "StateResult",
    "StateTester",
    "test_state",
    "walk_states",
]
