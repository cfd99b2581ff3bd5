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


def memory_gb(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory, in GB."""
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def fresh_peak(touch_gb: float = 0.0) -> float:
    """Write and free `touch_gb` of memory (memory idle for a minute is ~10x slower to touch
    the first time: STACK-NOTES, "Measuring on this machine"), then make the current resident
    memory the peak; returns it, in GB, for memory_gb() to be compared with after a case."""
    from pathlib import Path

    import numpy as np

    if touch_gb > 0:
        block = np.ones(int(touch_gb * 2**30), dtype=np.uint8)
        del block
    Path("/proc/self/clear_refs").write_text("5")
    return memory_gb("VmRSS")


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, CPU seconds of this process and its
    finished children): the difference over a run is what other work took from it."""
    import os
    import resource
    from pathlib import Path

    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    ours = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))
    return busy, ours


def machine_clock() -> tuple[float, float, float]:
    """The start of a benchmark, for report_machine_use: (wall clock, cpu_seconds())."""
    return (time.perf_counter(), *cpu_seconds())


def report_machine_use(start: tuple[float, float, float]) -> None:
    """How long the benchmark took, and how much of the machine other work used meanwhile."""
    import os

    began, busy, ours = start
    elapsed = time.perf_counter() - began
    busy_after, ours_after = cpu_seconds()
    others = max(0.0, (busy_after - busy) - (ours_after - ours))
    print(f"\nThe benchmark took {elapsed:.0f} s; other work on the machine used {others:.0f} "
          f"CPU-seconds meanwhile (of {elapsed * os.cpu_count():.0f} on {os.cpu_count()} cores: "
          "figures are skewed when that is large).")
