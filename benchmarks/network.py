"""Taylor's interlocking network model at scale: GNC and the top 100 dyads of 100,000 cities x
10,000 organisations with 1,000,000 non-zero service values (indicators.network.interlocking),
against the dense V V^T approach.

The dense approach (V as a numpy array, R = V V^T, GNC = row sums of R minus its diagonal, the
top dyads from R's upper triangle) would need 8 GB for V and 80 GB for R at full size, more
than this machine has: it is measured on the first 5,000 cities (all 10,000 organisations),
beside the sparse code on the same cities, and its full-size cost is extrapolated (time x n^2,
memory by the sizes of V and R) and labelled so. Both give the same GNC and dyads on the subset
(checked).

The matrix: positions uniformly at random (seeded), values 1-5; each organisation in ~100
cities, each city with ~10. The dyads cost sum_j c_j^2 products (c_j: cities of organisation j),
~10^8 here; a few organisations in most cities would cost more.

Also, when ../shared/opendata and networkx are there: betweenness on the OpenFlights air network
(3,142 cities), indicators.network.graph against networkx.

Every case runs in fresh processes, medians of 3; peak memory is what the process grew by
while the case ran (VmHWM after resetting it).

    python -m benchmarks network
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import fresh_peak, machine_clock, memory_gb, report_machine_use, reported

CITIES, ORGANISATIONS, NONZEROS, TOP = 100_000, 10_000, 1_000_000, 100
SUBSET = 5_000  # cities the dense approach is measured on
RUNS = 3
OPENFLIGHTS = Path(__file__).resolve().parents[2] / "shared" / "opendata" / "openflights"


def _matrix(cities: int):
    from scipy import sparse

    rng = np.random.default_rng(2026)
    cells = rng.choice(CITIES * ORGANISATIONS, NONZEROS, replace=False)
    values = rng.integers(1, 6, NONZEROS).astype(float)
    matrix = sparse.csr_array((values, (cells // ORGANISATIONS, cells % ORGANISATIONS)),
                              shape=(CITIES, ORGANISATIONS))
    return matrix[:cities]


def _sparse_gnc(matrix):
    from indicators.network.interlocking import connectivity

    return connectivity(matrix), None


def _sparse_dyads(matrix):
    from indicators.network.interlocking import strongest_dyads

    return None, strongest_dyads(matrix, TOP)


def _dense(matrix):
    from indicators.network.interlocking import Dyads

    values = matrix.toarray()
    # V @ V.T on a large matrix crashed with two BLAS threads (numpy #19685, STACK-NOTES);
    # a contiguous copy of the transpose avoids it.
    dyads = values @ np.ascontiguousarray(values.T)
    gnc = dyads.sum(axis=1) - np.diag(dyads)
    a, b = np.triu_indices(len(values), 1)
    upper = dyads[a, b]
    kth = np.partition(upper, len(upper) - TOP)[len(upper) - TOP]
    top = upper >= kth  # every tie at the cut, then the same order as the sparse code
    return gnc, Dyads(a[top], b[top], upper[top]).ordered().head(TOP)


CASES = {  # name: (label, cities, function, GB touched before timing)
    "sparse-gnc": ("GNC, sparse (indicators.network)", CITIES, _sparse_gnc, 0.2),
    "sparse-dyads": (f"top {TOP} dyads, sparse blocks of V V^T", CITIES, _sparse_dyads, 1.5),
    "sparse-gnc-subset": ("GNC, sparse", SUBSET, _sparse_gnc, 0.2),
    "sparse-dyads-subset": (f"top {TOP} dyads, sparse", SUBSET, _sparse_dyads, 0.5),
    "dense-subset": (f"GNC and top {TOP} dyads, dense V V^T (baseline)", SUBSET, _dense, 1.5),
}


def run_case(name: str) -> None:
    _, cities, function, touch = CASES[name]
    matrix = _matrix(cities)
    function(matrix[:50])  # imports and first calls, not timed
    before = fresh_peak(touch)
    start = time.perf_counter()
    gnc, dyads = function(matrix)
    seconds = time.perf_counter() - start
    grew = memory_gb() - before
    print(json.dumps({
        "seconds": seconds, "grew_gb": grew, "nnz": int(matrix.nnz),
        "gnc_sum": None if gnc is None else float(gnc.sum()),
        "dyads": None if dyads is None else [
            [int(x), int(y), float(r)] for x, y, r in zip(dyads.a, dyads.b, dyads.connectivity,
                                                            strict=True)],
    }))


def run_betweenness(which: str) -> None:
    import pandas as pd

    from indicators.network.graph import betweenness
    from indicators.network.links import adjacency

    airports = pd.read_csv(OPENFLIGHTS / "airports.dat", header=None, usecols=[0, 2, 3],
                           names=["id", "city", "country"], na_values="\\N",
                           keep_default_na=False)
    routes = pd.read_csv(OPENFLIGHTS / "routes.dat", header=None, usecols=[3, 5],
                         names=["a", "b"], na_values="\\N", keep_default_na=False)
    city = (airports["city"] + "|" + airports["country"]).set_axis(airports["id"])
    a, b = routes["a"].map(city), routes["b"].map(city)
    kept = a.notna() & b.notna() & (a != b)
    links = pd.DataFrame({"city_a": np.minimum(a[kept], b[kept]),
                          "city_b": np.maximum(a[kept], b[kept])}).drop_duplicates()
    _, matrix = adjacency(links.assign(weight=1.0))
    start = time.perf_counter()
    if which == "networkx":
        import networkx as nx

        found = nx.betweenness_centrality(nx.from_scipy_sparse_array(matrix))
        values = np.array([found[i] for i in range(matrix.shape[0])])
    else:
        values = betweenness(matrix)
    print(json.dumps({"seconds": time.perf_counter() - start, "cities": matrix.shape[0],
                      "top": float(values.max()), "sum": float(values.sum())}))


def _median(runs: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def main(runs: int = RUNS) -> None:
    from importlib.util import find_spec

    start = machine_clock()
    worker = [sys.executable, "-m", "benchmarks.network"]
    results: dict[str, list[dict]] = {name: [] for name in CASES}
    for _ in range(runs):  # round robin: a burst of other work hits one run of each case
        for name in CASES:
            results[name].append(reported([*worker, "case", name]))
    got = {name: {"seconds": _median(r, "seconds"), "gb": _median(r, "grew_gb"), **r[0]}
           for name, r in results.items()}

    dense = got["dense-subset"]
    for name in ("sparse-gnc-subset", "sparse-dyads-subset"):
        mine = got[name]
        if mine["gnc_sum"] is not None and mine["gnc_sum"] != dense["gnc_sum"]:
            sys.exit(f"{name}: GNC differs from the dense computation")
        if mine["dyads"] is not None and mine["dyads"] != dense["dyads"]:
            sys.exit(f"{name}: the top {TOP} dyads differ from the dense computation")
    scale = (CITIES / SUBSET) ** 2  # V V^T: n^2 m multiply-adds, m unchanged
    dense_full_s = dense["seconds"] * scale
    dense_full_gb = (CITIES * ORGANISATIONS + CITIES * CITIES) * 8 / 2**30

    def row(label, seconds, gigabytes, baseline_s, baseline_gb, note=""):
        print(f"  {label:<52} {seconds:>10.3f} {gigabytes * 1024:>10.0f} "
              f"{seconds / baseline_s:>10.2g} {gigabytes / baseline_gb:>10.2g}  {note}")

    header = (f"  {'case':<52} {'seconds':>10} {'peak MB':>10} {'time/dense':>10} "
              f"{'mem/dense':>10}")
    print(f"\nInterlocking network model, median of {runs} fresh processes each")
    print(f"\n{SUBSET:,} cities x {ORGANISATIONS:,} organisations "
          f"({got['sparse-gnc-subset']['nnz']:,} non-zeros; same GNC and dyads checked)")
    print(header)
    row(CASES["dense-subset"][0], dense["seconds"], dense["gb"], dense["seconds"], dense["gb"])
    for name in ("sparse-gnc-subset", "sparse-dyads-subset"):
        row(CASES[name][0], got[name]["seconds"], got[name]["gb"], dense["seconds"], dense["gb"])
    print(f"\n{CITIES:,} cities x {ORGANISATIONS:,} organisations "
          f"({got['sparse-gnc']['nnz']:,} non-zeros)")
    print(header)
    row("dense V V^T, EXTRAPOLATED (time x (n/5,000)^2; V + R)", dense_full_s, dense_full_gb,
        dense_full_s, dense_full_gb, "not run: does not fit in memory")
    for name in ("sparse-gnc", "sparse-dyads"):
        row(CASES[name][0], got[name]["seconds"], got[name]["gb"], dense_full_s, dense_full_gb)

    if OPENFLIGHTS.is_dir() and find_spec("networkx"):
        timed = {which: reported([*worker, "betweenness", which])
                 for which in ("networkx", "citybench")}
        if abs(timed["networkx"]["sum"] - timed["citybench"]["sum"]) > 1e-9:
            sys.exit("betweenness differs from networkx")
        print(f"\nBetweenness on the OpenFlights air network ({timed['citybench']['cities']:,} "
              "cities), one fresh process each (same values checked)")
        base = timed["networkx"]["seconds"]
        for which, label in (("networkx", "networkx.betweenness_centrality (baseline)"),
                             ("citybench", "indicators.network.graph.betweenness")):
            seconds = timed[which]["seconds"]
            print(f"  {label:<52} {seconds:>10.2f} s {seconds / base:>10.2g}")
    else:
        print("\n(betweenness against networkx left out: needs ../shared/opendata and networkx)")
    report_machine_use(start)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "case":
        run_case(arguments[0])
    elif command == "betweenness":
        run_betweenness(arguments[0])
