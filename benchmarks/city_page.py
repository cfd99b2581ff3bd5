"""The city page's reads (warehouse/read_model.py, as app/views/city.py makes them) now that the
refresh stores the network measures, against the computation the page used to make when it
was opened: the measures of every city from the warehouse's links and memberships
(indicators.network, as flows/network_measures.py now runs it in the refresh; the app cached
it per published version, so the first view of each version paid it).

The warehouse is the offline default's (`citybench refresh` with the default config: the
starter snapshot), built first by the plain pipeline in a temporary folder; or one given:
`python -m benchmarks.city_page PATH`. Each case runs in fresh processes (medians of 3); a
warm figure is the median of 5 repeats after one untimed call in the same process.

    python -m benchmarks city_page
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.default_warehouse import command_line, on_warehouse
from benchmarks.timing import reported

RUNS, REPEATS = 3, 5
LONDON = "gn:2643743"


def _page_reads(db: Path, city_id: str) -> None:
    """Every read the city page makes of one city, networks section included."""
    from app.city_compare import city_peers
    from app.ui import FRAMEWORK
    from warehouse import read_model

    read_model.publication(db)
    read_model.sources(db)
    read_model.search_cities(db, "")
    read_model.city(db, city_id)
    read_model.profile(db, FRAMEWORK, city_id)
    city_peers(db, city_id, "nearest-profile", None, 10, {})  # the card, as compare makes it
    read_model.network_measures(db, city_id)
    read_model.network_reach(db, city_id)
    read_model.air_partners(db, city_id)
    read_model.attributions(db, FRAMEWORK)
    read_model.attributions(db)


def _on_view_computation(db: Path, city_id: str) -> None:
    """What the page computed when opened: every city's measures from the links and
    memberships."""
    from flows.network_measures import measure
    from warehouse.connect import open_read_only

    con = open_read_only(db)
    try:
        measure(con)
    finally:
        con.close()


CASES = {"page": _page_reads, "on_view": _on_view_computation}


def _case(name: str, db: str) -> None:
    """One fresh process: the first call (cold), then the median of warm repeats."""
    run = CASES[name]
    start = time.perf_counter()
    run(Path(db), LONDON)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run(Path(db), LONDON)
        warm.append(time.perf_counter() - start)
    print(json.dumps({"cold": cold, "warm": statistics.median(warm)}))


def _stored(db: Path) -> int:
    from warehouse.connect import open_read_only
    from warehouse.measures import SOURCE_ID
    from warehouse.store import facts_held

    con = open_read_only(db)
    try:
        return facts_held(con, SOURCE_ID)
    finally:
        con.close()


def measure_warehouse(db: Path) -> None:
    print(f"\nCity page of London on {db} ({_stored(db):,} network measure values stored)")
    results = {}
    for name in CASES:
        runs = [reported([sys.executable, "-m", "benchmarks.city_page", "--case", name,
                          str(db)]) for _ in range(RUNS)]
        results[name] = {key: statistics.median(r[key] for r in runs) for key in ("cold",
                                                                                  "warm")}
    base = results["on_view"]["cold"]
    rows = [
        ("on-view computation of the measures (baseline:", results["on_view"]["cold"]),
        ("  the first view of each version paid it)", None),
        ("city page reads, stored measures, warm", results["page"]["warm"]),
        ("city page reads, stored measures, first in process", results["page"]["cold"]),
    ]
    print(f"  {'case':<52} {'median':>10} {'/ baseline':>11}   (fresh processes: {RUNS})")
    for label, seconds in rows:
        if seconds is None:
            print(f"  {label}")
            continue
        print(f"  {label:<52} {seconds * 1000:>7.0f} ms {seconds / base:>11.3f}")
    target = "met" if results["page"]["warm"] < 1.0 else "NOT met"
    print(f"  target: city page under 1 s warm: {target}")


def main(db: Path | None = None) -> None:
    on_warehouse(measure_warehouse, db)


if __name__ == "__main__":
    command_line(measure_warehouse, _case)
