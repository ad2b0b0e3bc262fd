"""What SAM expansion adds to a deploy on the embedded backend (issue 16).

Deploys tests/data/templates/sam_app/template.yaml (a SAM app: a function with three event sources,
a state machine, a bus, a fan-out rule) on one embedded server, and the same app already expanded
(the CloudFormation JSON the translator gave), and times the translator alone. Prints a table.

    python benchmarks/bench_sam.py [runs]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).parents[1] / "tests" / "data" / "templates" / "sam_app" / "template.yaml"


def main(runs: int = 7) -> None:
    import iatk
    from iatk._backend.moto import packaging, sam
    from iatk._templates import read_template
    from iatk.embedded import EmbeddedBackend

    source = read_template(TEMPLATE)
    with EmbeddedBackend() as backend:
        session = backend.session()
        packaged, _ = packaging.package_local_artifacts(source.body, source.folder, source="bench")
        started = time.perf_counter()
        expanded = sam.expand(packaged, region="us-east-1", parameters={}, source="bench")
        cold = (time.perf_counter() - started) * 1000
        warm = []
        for _ in range(runs):
            started = time.perf_counter()
            sam.expand(packaged, region="us-east-1", parameters={}, source="bench")
            warm.append((time.perf_counter() - started) * 1000)
        package = []
        for _ in range(runs):
            started = time.perf_counter()
            packaging.package_local_artifacts(source.body, source.folder, source="bench")
            package.append((time.perf_counter() - started) * 1000)

        def deploy(template: str | Path, name: str) -> float:
            started = time.perf_counter()
            stack = iatk.deploy_stack(template, name, {"Stage": name}, session=session)
            took = (time.perf_counter() - started) * 1000
            stack.delete()
            return took

        deploy(TEMPLATE, "warmup")  # uploads the packaged code, warms moto's models
        sam_deploys = [deploy(TEMPLATE, f"sam{i}") for i in range(runs)]
        plain_deploys = [deploy(json.dumps(expanded), f"cfn{i}") for i in range(runs)]
    print(f"SAM expansion on the embedded backend ({runs} runs each; medians, ms)\n")
    print("| step | median ms | min ms |")
    print("|---|---|---|")
    print(f"| first expansion in a process (imports aws-sam-translator) | {cold:.0f} | {cold:.0f} |")
    print(f"| expansion, warm | {statistics.median(warm):.0f} | {min(warm):.0f} |")
    print(f"| packaging the local code (zip + hash) | {statistics.median(package):.1f} | {min(package):.1f} |")
    print(f"| deploy_stack of the SAM template | {statistics.median(sam_deploys):.0f} | {min(sam_deploys):.0f} |")
    plain = f"{statistics.median(plain_deploys):.0f} | {min(plain_deploys):.0f}"
    print(f"| deploy_stack of the same app, expanded beforehand | {plain} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
