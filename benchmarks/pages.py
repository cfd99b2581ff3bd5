"""Every page of the app rendered by Streamlit's own test runner (streamlit.testing), cold and
warm, against the floor: a page that only sets the layout and prints a title.

Cold is the first render in a fresh process (imports, the published version's first reads);
warm is the median of 5 renders after it, as a user sees the page again or changes a widget
(the reads are cached per published version; Streamlit's script run, the charts' specs and
the tables' Arrow frames are paid every time). The warehouse is the offline default's, built
first in a temporary folder; or one given: `python -m benchmarks.pages PATH`.

    python -m benchmarks pages
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.default_warehouse import command_line, on_warehouse
from benchmarks.timing import reported

RUNS, REPEATS = 3, 5
APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
LYON = "gn:2996944"
# page file, query parameters: what a user opens
PAGES = {
    "Rankings": ("views/rankings.py", {}),
    "My city (Lyon)": ("views/city.py", {"city": LYON}),
    "Explorer": ("views/explorer.py", {"city": LYON}),
    "Networks": ("views/networks.py", {"city": LYON}),
    "Sources and freshness": ("views/sources.py", {}),
    "Data quality": ("views/quality.py", {}),
    "Downloads": ("views/downloads.py", {}),
}
FLOOR = """
import streamlit as st
st.set_page_config(page_title="floor", layout="wide")
st.title("A page")
"""


def _render(at) -> float:
    start = time.perf_counter()
    at.run()
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception[0].value}")
    return time.perf_counter() - start


def _case(page: str, db: str) -> None:
    """One fresh process: the first render (cold), then the median of warm renders."""
    from streamlit.testing.v1 import AppTest

    os.environ["CITYBENCH_DB"] = db
    if page == "floor":
        at = AppTest.from_string(FLOOR, default_timeout=60)
    else:
        path, query = PAGES[page]
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params.update(query)
        at.switch_page(path)
    cold = _render(at)
    warm = statistics.median(_render(at) for _ in range(REPEATS))
    print(json.dumps({"cold": cold, "warm": warm}))


def measure_warehouse(db: Path) -> None:
    print(f"\nEvery page on {db} (streamlit.testing; medians of {RUNS} fresh processes)")
    results = {}
    for page in ["floor", *PAGES]:
        runs = [reported([sys.executable, "-m", "benchmarks.pages", "--case", page, str(db)])
                for _ in range(RUNS)]
        results[page] = {key: statistics.median(r[key] for r in runs) for key in ("cold",
                                                                                  "warm")}
    floor = results["floor"]["warm"]
    print(f"  {'page':<34} {'cold':>9} {'warm':>9} {'warm / floor':>13}")
    for page, result in results.items():
        label = "floor: a title only (baseline)" if page == "floor" else page
        print(f"  {label:<34} {result['cold'] * 1000:>6.0f} ms {result['warm'] * 1000:>6.0f} ms "
              f"{result['warm'] / floor:>13.1f}")
    slowest = max((r["warm"], p) for p, r in results.items() if p != "floor")
    verdict = "met" if slowest[0] < 1.0 else "NOT met"
    print(f"  slowest warm page: {slowest[1]}, {slowest[0]:.2f} s: under 1 s warm {verdict}")


def main(db: Path | None = None) -> None:
    on_warehouse(measure_warehouse, db)


if __name__ == "__main__":
    command_line(measure_warehouse, _case)
