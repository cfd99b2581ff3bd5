"""`citybench check` on large user files: time and peak memory at 20 MB and 200 MB.

The file is in the canonical long format, with the names of real cities of the offline
default warehouse (so that every row is resolved, as in a real check) and 0.1% bad rows (a
value that is not a number). Side by side, in fresh processes:

- `citybench check FILE --db W`, the command as users run it (it reads a large CSV in chunks);
- a competent baseline: pandas.read_csv of the whole file, then the same kinds of checks
  vectorised (columns present, periods in range, values numeric and finite, duplicates, cities
  looked up by exact name in the warehouse). It checks less than `check` (no fuzzy names, no
  countries, no units, no rejection report by line), so it is a floor, not a rival.

Peak memory is the process's VmHWM (GNU time's "Maximum resident set size" for the command).

    python -m benchmarks check_large [MB ...]     # default: 20 200
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE = Path(os.environ.get("CITYBENCH_DB", "/tmp/wh/cb.duckdb"))


def write_file(path: Path, megabytes: int, db: Path) -> int:
    """A user file of about `megabytes` MB; returns its rows."""
    from warehouse.connect import reading
    from warehouse.registry import read_registry

    with reading(db) as con:
        registry = read_registry(con).cities
    largest = registry[registry["population"] > 500_000].nlargest(400, "population")
    cities = list(zip(largest["name"], largest["country_iso2"], strict=True))
    # one (city, country) per name: a name two cities share would be ambiguous, not a value
    seen: dict[str, str] = {}
    for name, country in cities:
        if "," not in name and '"' not in name:
            seen.setdefault(name, country)
    rows = 0
    with path.open("w") as out:
        out.write("city,country,indicator,period,value,unit\n")
        k = 0
        while out.tell() < megabytes * 2**20:
            for name, country in seen.items():
                value = "n/a" if rows % 1000 == 999 else f"{rows * 0.37:.2f}"
                out.write(f"{name},{country},kpi_{k % 500},{1950 + k // 500},{value},count\n")
                rows += 1
            k += 1
    return rows


BASELINE = r'''
import json, sys, time
import numpy as np, pandas as pd
from pathlib import Path
from benchmarks.timing import memory_gb
from warehouse.connect import reading
from warehouse.registry import read_registry
start = time.perf_counter()
path, db = sys.argv[1], sys.argv[2]
frame = pd.read_csv(path, dtype=str, keep_default_na=False)
missing = [c for c in ("city", "indicator", "period", "value") if c not in frame.columns]
period = pd.to_numeric(frame["period"], errors="coerce")
value = pd.to_numeric(frame["value"], errors="coerce")
bad = (period.isna() | (period < 1800) | (period > 2100) | value.isna() | ~np.isfinite(value)
       | ~frame["indicator"].str.fullmatch(r"[a-z0-9_]+"))
duplicated = frame.duplicated(["city", "country", "indicator", "period"], keep="first")
with reading(Path(db)) as con:
    names = set(read_registry(con).cities["name"])
unknown = ~frame["city"].isin(names)
print(json.dumps({"rows": len(frame), "bad": int((bad | duplicated | unknown).sum()),
                  "seconds": time.perf_counter() - start, "peak_gb": memory_gb()}))
'''


def _run(command: list[str]) -> dict:
    """Seconds and peak memory of a fresh process (GNU time's max RSS, in KiB)."""
    with tempfile.NamedTemporaryFile("r") as stats:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", stats.name, *command],
                              capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        peak_kib = int(stats.read().strip().splitlines()[-1])
    return {"seconds": seconds, "peak_gb": peak_kib / 2**20, "exit": done.returncode,
            "last": (done.stdout.strip().splitlines() or [""])[-1][-100:]}


def main(sizes: list[int] | None = None) -> None:
    sizes = sizes or [20, 200]
    citybench = str(Path(sys.executable).with_name("citybench"))
    with tempfile.TemporaryDirectory() as folder:
        for megabytes in sizes:
            path = Path(folder) / f"kpis-{megabytes}mb.csv"
            rows = write_file(path, megabytes, WAREHOUSE)
            cases = {
                "citybench check (chunked)": [citybench, "check", str(path), "--db",
                                              str(WAREHOUSE)],
                "pandas.read_csv + the same kinds of checks": [
                    sys.executable, "-c", BASELINE, str(path), str(WAREHOUSE)],
            }
            print(f"\n`citybench check` on {path.stat().st_size / 2**20:,.0f} MB "
                  f"({rows:,} rows, 0.1% bad)")
            print(f"  {'case':<46} {'seconds':>8} {'peak GB':>8}  last line")
            for name, command in cases.items():
                got = _run(command)
                print(f"  {name:<46} {got['seconds']:>8.1f} {got['peak_gb']:>8.2f}  "
                      f"{json.dumps(got['last'])}")
            path.unlink()


if __name__ == "__main__":
    main([int(size) for size in sys.argv[1:]] or None)
