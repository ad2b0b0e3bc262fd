"""An Amazon States Language evaluator for one state at a time: the offline TestState's engine.

moto's own interpreter runs whole executions and gets parts of the data flow wrong (the issues it
has are listed in :mod:`iatk._backend.moto.states`), so the offline TestState evaluates states
here, in Python, and asks moto only for the service call of a Task that is not mocked:

- :mod:`.errors`: :class:`~.errors.StatesError`, an ASL runtime error (``States.Runtime``...);
- :mod:`.paths`: JSONPath: paths, reference paths, ``ResultPath``, payload templates (``Parameters``);
- :mod:`.intrinsics`: the ``States.*`` intrinsic functions;
- :mod:`.jsonata`: ``{% ... %}`` expressions, ``$states``, variables and AWS's added functions;
- :mod:`.choice`: Choice rules (JSONPath comparison operators, JSONata ``Condition``);
- :mod:`.interpreter`: one state of any type, with its mock, Retry and Catch, as TestState reports it.

Nothing here does I/O: the interpreter takes the Task call as a function. This file imports nothing.
"""
