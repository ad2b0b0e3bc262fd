"""Step Functions state tests: run one state of a deployed workflow, or walk a path, from a test.

On AWS, :func:`test_state` calls the TestState API with the deployed definition, a ``stateName``, an
input and optionally a mock, and returns a :class:`StateResult` (status, next state, output, error,
inspection data). :func:`walk_states` chains those calls from the start state, following
``next_state``, and returns the path taken.

moto has no TestState, and its ASL interpreter gets parts of the data flow wrong. On the embedded
backend the state is evaluated by iatk's own emulator (:mod:`iatk._backend.moto.states`), which
answers as TestState does: every state type, JSONPath and JSONata, intrinsic functions, variables,
the Context object, mocks, Retry and Catch, TestState's validation (a Map or Parallel without a mock
is refused, as on AWS) and its inspection data, reported for the stages each state type has. The
emulator returns a TestState-shaped response, parsed here exactly as AWS's is. Only an unmocked
Task's service call runs on moto, in a temporary one-Task state machine that is always deleted.

Not offline: HTTP Tasks' request/response (TRACE), ``mapItemReaderData`` (accepted, not read) and
the mock's ``fieldValidationMode`` checks against the service's API model. A Wait does not wait (as
on AWS). A moto server with its Step Functions execution mode off only pretends to run executions;
an unmocked Task notices (after half a second) and says how to turn it on, rather than waiting.

Against AWS, a non-AWS endpoint that lacks TestState (moto's HTML 500, ``UnknownOperationException``)
is reported as such, pointing to the emulation. TestState's refusals (``ValidationException``,
``InvalidDefinition``) read the same on both backends.
"""

# The package: _results.py (StateResult, StatePath, StateInspection and their expect_* checks),
# _machine.py (the deployed definition, read once per session), _test_state.py (the TestState call),
# _walk.py (walk_states), _tester.py (StateTester, the iatk_states fixture's object). The offline
# emulator is iatk._backend.moto.states, which _test_state imports on embedded sessions only.
from __future__ import annotations

from iatk.exceptions import MaxStepsReached

# Importable from iatk.states as before, outside __all__ (the "as" marks them re-exported).
from ._machine import StateMachineRef as StateMachineRef
from ._results import STATUSES as STATUSES, StateInspection, StatePath, StateResult
from ._test_state import INSPECTION_LEVELS as INSPECTION_LEVELS, MOCKABLE_TYPES as MOCKABLE_TYPES, test_state
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
