"""The layout's guards: every old module path keeps its ``__all__``, no private reach-ins, no cycles.

The module paths and their ``__all__`` are what users' suites import (``from iatk.listener import
Listener``); the lists below were read off the tree before the re-house and must not change.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import iatk

SRC = Path(iatk.__file__).parent

#: module path -> its ``__all__`` before the re-house (sorted).
PUBLIC_MODULES: dict[str, list[str]] = {
    "iatk.listener": ["Listener", "ListenerResource", "UnexpectedEvent", "WaitRecord", "subscribe_waits"],
    "iatk.trace": [
        "Link",
        "MAX_LINK_DEPTH",
        "Segment",
        "Subsegment",
        "Trace",
        "TraceHeader",
        "TraceHelper",
        "TraceSourceChoice",
        "TraceTree",
        "choose_trace_source",
        "forget_trace_source",
        "get_trace_tree",
        "new_trace_header",
        "trace_client",
        "untrace_client",
    ],
    "iatk.matchers": [
        "MatchResult",
        "Matcher",
        "MatcherLike",
        "Mismatch",
        "OPERATORS",
        "anything_but",
        "as_matcher",
        "callable_matcher",
        "cidr",
        "equals_ignore_case",
        "exists",
        "explain",
        "match",
        "numeric",
        "pattern",
        "prefix",
        "suffix",
        "validate_pattern",
        "wildcard",
    ],
    "iatk.events": ["Event", "MAX_ENTRIES_PER_CALL", "MAX_REQUEST_BYTES", "put_events", "subscribe_waits"],
    "iatk.stack": ["DeployProgress", "Stack", "StackResource", "deploy_once", "deploy_stack"],
    "iatk.states": [
        "MaxStepsReached",
        "StateInspection",
        "StatePath",
        "StateResult",
        "StateTester",
        "test_state",
        "walk_states",
    ],
    "iatk.mock_events": [
        "DEFAULT_ACCOUNT",
        "DEFAULT_DETAIL_TYPE",
        "DEFAULT_SOURCE",
        "EventSchema",
        "RECURSION_LIMIT",
        "clear_schema_cache",
        "eventbridge_envelope",
        "load_schema",
        "mock_event",
        "mock_events",
        "strategy",
        "to_json_schema",
        "to_put_events_entry",
    ],
    "iatk.exceptions": [
        "AwsError",
        "CleanupError",
        "ConfigError",
        "DeployError",
        "IatkError",
        "ListenerError",
        "MaxStepsReached",
        "PatternError",
        "PutEventsError",
        "ResourceNotInStack",
        "SchemaError",
        "StackError",
        "StackNotFound",
        "StackNotReady",
        "StackOutputNotFound",
        "StateTestError",
        "TraceError",
        "TraceIncomplete",
        "UnexpectedEvent",
        "WaitTimeout",
    ],
    "iatk.waiting": ["Deadline", "NOT_YET", "NotYet", "backoff_delays", "wait_until"],
    "iatk.embedded": ["EmbeddedBackend", "XRayRelay", "embedded_session"],
    "iatk.compat": [
        "AddEbListenerOutput",
        "AddEbListener_Resource",
        "AwsIatk",
        "Cause",
        "CauseException",
        "GenerateBareboneEventOutput",
        "GenerateMockEventOutput",
        "GetStackOutputsOutput",
        "GetTraceTreeOutput",
        "GetTraceTreeParams",
        "Http",
        "IatkException",
        "InvalidParamException",
        "Link",
        "LinkAttributes",
        "PhysicalIdFromStackOutput",
        "PollEventsOutput",
        "ReferenceType",
        "RemoveListenersOutput",
        "RemoveListeners_TagFilter",
        "Request",
        "Response",
        "RetryableException",
        "Segment",
        "Sql",
        "StackFrame",
        "Subsegment",
        "Trace",
        "Tree",
        "trace_header_of",
    ],
    "iatk.poll_events": ["InvalidParamException", "PollEventsOutput"],
    "iatk.xray": [
        "Cause",
        "CauseException",
        "Exception",
        "Http",
        "Link",
        "LinkAttributes",
        "ReferenceType",
        "Request",
        "Response",
        "Segment",
        "Sql",
        "StackFrame",
        "Subsegment",
        "Trace",
        "Tree",
    ],
    "iatk.context_generation": ["eventbridge_event_context"],
    "iatk.cleanup": [
        "CleanupProgress",
        "CleanupReport",
        "FailedResource",
        "HarnessResource",
        "LEGACY_TTL",
        "SkippedResource",
        "cleanup",
        "delete_harness_resources",
        "find_harness_resources",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC_MODULES))
def test_old_module_paths_keep_their_all(module: str) -> None:
    """``import iatk.<module>`` still works and exports exactly what it did."""
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == PUBLIC_MODULES[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{module}.{name}"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _package_of(module: str, modules: dict[str, Path]) -> str:
    """The top-level unit a module belongs to: ``iatk.listener._inbox`` -> ``iatk.listener``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _imports(module: str, path: Path, *, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """``(imported module, imported names)`` for each ``from x import y`` / ``import x`` in ``path``."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):  # imports for type checkers only are no dependency at run time
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[tuple[str, list[str]]] = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return [(target, names) for target, names in found if target == "iatk" or target.startswith("iatk.")]


def test_no_private_name_is_imported_across_packages() -> None:
    """A package's ``_private`` modules and names are used only inside it.

    Shared internals are the top-level private modules (``iatk._aws``, ``iatk._config``,
    ``iatk._tags``, ``iatk._text``, ``iatk._templates``, ``iatk._backend``...), whose own names are public.
    """
    modules = _modules()
    offences: list[str] = []
    for module, path in modules.items():
        unit = _package_of(module, modules)
        for target, names in _imports(module, path, top_level_only=False):
            target_unit = _package_of(target, modules)
            if target_unit == unit:
                continue
            deep = target.split(".")[2:]
            if any(part.startswith("_") and part != "__init__" for part in deep):
                offences.append(f"{module} imports the private module {target}")
            offences.extend(
                f"{module} imports the private name {target}.{name}"
                for name in names
                if name.startswith("_") and not name.startswith("__") and f"{target}.{name}" not in modules
            )
    assert not offences, "\n".join(offences)


def test_no_import_cycle_at_import_time() -> None:
    """Module-level imports between iatk's modules form no cycle (imports inside functions are lazy)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges: set[str] = set()
        for target, names in _imports(module, path, top_level_only=True):
            for name in names or [""]:
                candidate = f"{target}.{name}" if name else target
                edges.add(candidate if candidate in modules else target)
        graph[module] = {edge for edge in edges if edge in modules and edge != module}
    # A package's __init__ importing its own submodules, and a submodule importing the package's
    # siblings, is the normal shape; a cycle is a path back to the start through other modules.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_cycle_between_packages_even_through_lazy_imports() -> None:
    """The packages depend on each other in one direction: adapters -> core -> ``_aws``/``_backend``.

    Imports inside functions count here (they are how the core stays cheap to import, not a way
    around the layering); ``iatk/__init__`` lazily re-exports everything and is left out.
    """
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        if module == "iatk":
            continue
        unit = _package_of(module, modules)
        for target, _names in _imports(module, path, top_level_only=False):
            target_unit = _package_of(target, modules)
            if target_unit not in (unit, "iatk"):
                graph.setdefault(unit, set()).add(target_unit)
    cycles: list[str] = []
    for unit in sorted(graph):
        seen: set[str] = set()
        todo = [(nxt, [unit, nxt]) for nxt in sorted(graph[unit])]
        while todo:
            node, path = todo.pop()
            if node == unit:
                cycles.append(" -> ".join(path))
                break
            if node in seen:
                continue
            seen.add(node)
            todo.extend((nxt, [*path, nxt]) for nxt in sorted(graph.get(node, ())))
    assert not cycles, "\n".join(cycles)
