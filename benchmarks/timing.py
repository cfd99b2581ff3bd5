"""Time commands in fresh processes and report medians side by side."""

from __future__ import annotations

import statistics
import subprocess
import time


def median_seconds(command: list[str], runs: int, env: dict | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(title: str, rows: list[tuple[str, float]], baseline: str) -> None:
    base = dict(rows)[baseline]
    print(f"\n{title}")
    print(f"  {'case':<46} {'time':>11} {'time / baseline':>16}")
    for name, seconds in rows:
        print(f"  {name:<46} {seconds * 1000:>8.1f} ms {seconds / base:>16.3g}")
