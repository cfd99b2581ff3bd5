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


def reported(command: list[str], env: dict | None = None) -> dict:
    """Run `command` once in a fresh process that times its own work and prints one JSON
    object as its last line of output; return that object. A process that fails stops the
    benchmark with its own message."""
    import json
    import sys

    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report_throughput(title: str, rows: list[tuple[str, float]], baseline: str, items: int,
                      unit: str = "rows") -> None:
    base = dict(rows)[baseline]
    print(f"\n{title}")
    print(f"  {'case':<62} {'median s':>9} {unit + '/s':>12} {'time / baseline':>16}")
    for name, seconds in rows:
        print(f"  {name:<62} {seconds:>9.3f} {items / seconds:>12,.0f} {seconds / base:>16.3g}")
