"""Deploy time of the video plugin example's two SAM stacks on the embedded backend (issue 16).

Deploys examples/video_plugin's plugin tester stack and its plugin stack on one embedded server,
``runs`` times each (after one warm-up pair), and times, per stack: the whole ``deploy_stack``,
the packaging of its local code and definitions, and the SAM expansion alone. Prints a table.

    python benchmarks/bench_video_plugin.py [runs]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

APP = Path(__file__).parents[1] / "examples" / "video_plugin"
TESTER = APP / "plugin_tester" / "template.yaml"
PLUGIN = APP / "python_minimal_plugin" / "template.yaml"


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} | {min(samples):.0f} | {max(samples):.0f}"


def main(runs: int = 5) -> None:
    import iatk
    from iatk._backend.moto import packaging, sam
    from iatk._templates import read_template
    from iatk.embedded import EmbeddedBackend

    times: dict[str, list[float]] = {key: [] for key in ("tester", "plugin", "both")}
    steps: dict[str, list[float]] = {}
    first = 0.0
    with EmbeddedBackend() as backend:
        session = backend.session()
        for run in range(runs + 1):
            started = time.perf_counter()
            tester = iatk.deploy_stack(TESTER, f"tester{run}", {"Stage": f"b{run}"}, session=session)
            middle = time.perf_counter()
            bus = tester.output("PluginEventBusName")
            plugin = iatk.deploy_stack(PLUGIN, f"plugin{run}", {"PluginEventBusName": bus}, session=session)
            ended = time.perf_counter()
            if not run:  # the first pair warms moto's models and imports the translator
                first = (ended - started) * 1000
            else:
                times["tester"].append((middle - started) * 1000)
                times["plugin"].append((ended - middle) * 1000)
                times["both"].append((ended - started) * 1000)
            plugin.delete()
            tester.delete()
        for label, path, parameters in (
            ("tester", TESTER, {"Stage": "x"}),
            ("plugin", PLUGIN, {"PluginEventBusName": "x"}),
        ):
            source = read_template(path)
            for _ in range(runs):
                started = time.perf_counter()
                packaged, _ = packaging.package_local_artifacts(source.body, source.folder, source="bench")
                steps.setdefault(f"{label}: packaging", []).append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                sam.expand(packaged, region=session.region_name, parameters=parameters, source="bench")
                steps.setdefault(f"{label}: SAM expansion", []).append((time.perf_counter() - started) * 1000)
    print(f"video plugin example on the embedded backend ({runs} runs after a warm-up; ms)\n")
    print("| step | median | min | max |")
    print("|---|---|---|---|")
    tester_row = "deploy_stack plugin tester stack (SAM: bus, rule, state machine, registry, schema)"
    print(f"| first pair in a process (imports aws-sam-translator) | {first:.0f} | {first:.0f} | {first:.0f} |")
    print(f"| {tester_row} | {_ms(times['tester'])} |")
    print(f"| deploy_stack plugin stack (SAM: Python function, EventBridgeRule event) | {_ms(times['plugin'])} |")
    print(f"| both stacks | {_ms(times['both'])} |")
    for label, samples in steps.items():
        print(f"| {label} (inside deploy_stack) | {_ms(samples)} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
