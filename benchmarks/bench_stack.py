"""Benchmark: iatk.Stack look-ups vs bare boto3 calls on the same embedded moto server.

Run: python benchmarks/bench_stack.py  (prints a markdown table)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import iatk
from iatk._aws import aws

ROOT = Path(__file__).resolve().parents[1]
N = 200


def _stats(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def compare(ours, bare, n=N):
    """Time both callables alternately (same moment, same noise); (median, p90) in ms for each."""
    a, b = [], []
    for _ in range(n):
        for fn, out in ((ours, a), (bare, b)):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return _stats(a), _stats(b)


def main() -> int:
    with iatk.embedded_session() as session:
        stack = iatk.deploy_stack(ROOT / "tests/data/templates/app.yaml", "bench", session=session)
        cfn = aws(session).cloudformation  # the same client and Config iatk uses
        arn = stack.arn
        warm_stack = iatk.Stack(arn, session=session)
        warm_stack.physical_id("Inbox")
        warm_stack.physical_id("Workflow")

        def bare_outputs():
            return cfn.describe_stacks(StackName=arn)["Stacks"][0]["Outputs"]

        def bare_id():
            return cfn.describe_stack_resource(StackName=arn, LogicalResourceId="Inbox")

        rows = [
            (
                "Stack(arn).outputs, new Stack each call",
                *compare(lambda: iatk.Stack(arn, session=session).outputs, bare_outputs),
            ),
            ("stack.outputs, same Stack (cached)", *compare(lambda: warm_stack.outputs, bare_outputs)),
            (
                "Stack(arn).physical_id, new Stack each call",
                *compare(lambda: iatk.Stack(arn, session=session).physical_id("Inbox"), bare_id),
            ),
            ("stack.physical_id, same Stack (cached)", *compare(lambda: warm_stack.physical_id("Inbox"), bare_id)),
        ]
    print(f"Stack look-ups vs bare boto3 on one embedded moto server (n={N}, ms)\n")
    print("| operation | iatk median | iatk p90 | bare boto3 median | ratio |")
    print("|---|---|---|---|---|")
    for name, (med, p90), (bmed, _) in rows:
        print(f"| {name} | {med:.2f} | {p90:.2f} | {bmed:.2f} | {med / bmed:.2f} |")
    print("\nbare boto3: describe_stacks for outputs; describe_stack_resource for a physical id.")
    print(
        "A new Stack pays DescribeStacks for outputs, and DescribeStacks + ListStackResources for a physical id\n"
        "(the stack status is checked first: DescribeStackResource alone cannot tell it); a kept Stack pays nothing."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
