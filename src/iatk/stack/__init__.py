"""CloudFormation stacks: outputs, resources and physical ids (nested stacks too), and deploy_stack.

A :class:`Stack` is lazy and cached: the first look-up makes one DescribeStacks call, the first
resource look-up one ListStackResources walk; later look-ups make none (``refresh()`` forgets both).

- :mod:`._stack`: :class:`Stack`, :class:`StackResource` (reading a deployed stack);
- :mod:`._deploy`: :func:`deploy_stack`, :func:`deploy_once` (creating one, and sharing it in a run);
- :mod:`._progress`: :class:`DeployProgress` (what ``deploy_stack(progress=...)`` is given).
"""

from __future__ import annotations

from ._deploy import deploy_once, deploy_stack
from ._progress import DeployProgress
from ._stack import NESTED_STACK, READY_STATES, Stack, StackResource  # noqa: F401 - the constants: as before, outside __all__

__all__ = ["DeployProgress", "Stack", "StackResource", "deploy_once", "deploy_stack"]
