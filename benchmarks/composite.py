"""The composite-indicator engine (indicators/composite) on synthetic cities, against a
straightforward pandas implementation of the same method.

The data: seeded, skewed lognormal indicators (a third of them with a few outliers a year,
a quarter heavy-tailed enough to need the log), ~3% missing, one in seven a count divided by
the population, 0.5% of the cities without a region and with a fifth of their values missing
(the screen drops them); a 3-level tree, indicators -> dimensions -> sub-indices -> index.
The method is the JRC/COINr default (ASEM's): denominate, group-mean imputation by region,
screen at 90% availability, winsorise up to 5 points when |skew| >= 2 and kurtosis >= 3.5
(else the log), min-max to [0, 100], weighted arithmetic means, then the ranks of every node
in every year.

Cases:
1. The whole pipeline on 10,000 cities x 200 indicators x 20 years, from the wide frame to the
   ranks (`build_frame` + `results.node_ranks`): time, peak memory, city-indicator-years/s.
2. The Monte Carlo (`uncertainty.analyse`) on 1,000 cities x 50 indicators: 1,000
   replications, weights x U(0.75, 1.25), 2 normalisations, 2 aggregations; with the
   sensitivity indices (N(k+2) composites) and without.
3. The baseline: the same method as one would write it in pandas (groupby-transform means,
   a loop over columns with Series.skew/kurt for the winsorisation, groupby min-max, a
   weighted mean per node, DataFrame.rank), and a Monte Carlo that runs that aggregation once
   per replication. It is first checked to give the engine's results (index values to 1e-9,
   rank summaries and sensitivity indices), then timed on the same data as the engine.

Every timed case runs in fresh processes, round robin; figures are medians.

    python -m benchmarks composite
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.timing import (
    fresh_peak,
    machine_clock,
    memory_gb,
    report_machine_use,
    report_throughput,
    reported,
)


@dataclass(frozen=True)
class Size:
    cities: int
    indicators: int
    years: int
    dimensions: int
    subindices: int

    @property
    def rows(self) -> int:
        return self.cities * self.indicators * self.years

    def __str__(self) -> str:
        years = f"{self.years} year" + ("s" if self.years > 1 else "")
        return f"{self.cities:,} cities x {self.indicators} indicators x {years}"


# COMPOSITE_YEARS=2 in the environment: a quick run on fewer years
FULL = Size(10_000, 200, int(os.environ.get("COMPOSITE_YEARS", 20)), 20, 4)
CHECK = Size(400, 40, 3, 8, 2)
MONTE_CARLO = Size(1_000, 50, 1, 5, 2)
MONTE_CARLO_CHECK = Size(200, 20, 1, 4, 2)
REPLICATIONS = 1_000
RUNS = 3

METHOD = """\
order = ["denominate", "impute", "screen", "treat", "normalise", "aggregate"]

[impute]
method = "group_mean"
group = "region"

[screen]
rule = "availability"
min_availability = 0.9

[treat]
method = "winsorise"
skew = 2.0
kurtosis = 3.5
max_points = 5
fallback = "log"

[normalise]
method = "minmax"
range = [{low}, 100]

[aggregate]
method = "arithmetic"
"""
# The Monte Carlo's nominal method normalises to [1, 100], so that the geometric mean applies.
UNCERTAINTY = {
    "seed": 1,
    "weights_noise": 0.25,
    "normalise": [{"method": "minmax", "range": [1, 100]}, {"method": "rank"}],
    "aggregate": [{"method": "arithmetic"}, {"method": "geometric"}],
}


# --- the data ----------------------------------------------------------------------------------

def design(size: Size, seed: int = 3) -> pd.DataFrame:
    """The tree as a table (COINr's iMeta): id, parent, level, weight, direction,
    denominator, scale, and each indicator's distribution (profile). Parents before
    children, as in the framework file."""
    rng = np.random.default_rng(seed)
    rows = [{"id": "index", "parent": None, "level": 4, "weight": 1.0}]
    rows += [{"id": f"S{s + 1}", "parent": "index", "level": 3, "weight": 1.0}
             for s in range(size.subindices)]
    rows += [{"id": f"D{d + 1:02d}", "parent": f"S{d * size.subindices // size.dimensions + 1}",
              "level": 2, "weight": float(rng.choice([1.0, 2.0]))}
             for d in range(size.dimensions)]
    profiles = rng.choice(["mild", "outliers", "heavy"], size.indicators, p=[0.4, 0.35, 0.25])
    for i in range(size.indicators):
        counted = i % 7 == 3
        rows.append({
            "id": f"I{i + 1:03d}", "parent": f"D{i * size.dimensions // size.indicators + 1:02d}",
            "level": 1, "weight": float(rng.choice([0.5, 1.0, 1.5, 2.0])),
            "direction": -1 if rng.random() < 0.2 else 1,
            "denominator": "population" if counted else None,
            "scale": 1000.0 if counted else 1.0, "profile": str(profiles[i]),
        })
    return pd.DataFrame(rows)


def generate(size: Size, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide frame: city, year, region, population and one column per indicator; design)."""
    meta = design(size)
    indicators = meta[meta["level"] == 1]
    rng = np.random.default_rng(seed)
    shape = (size.years, size.cities, size.indicators)
    sigma = indicators["profile"].map({"mild": 0.3, "outliers": 0.3, "heavy": 1.3}).to_numpy()
    mu = rng.uniform(0, 6, size.indicators)
    city = rng.standard_normal(shape[1:])
    values = np.empty(shape)
    for year in range(size.years):
        drift = city + 0.15 * rng.standard_normal(shape[1:])
        values[year] = np.exp(mu + 0.02 * year + sigma * drift)
    # a few outliers per indicator-year, x8 to x30
    outlying = (indicators["profile"] == "outliers").to_numpy()
    shocked = (rng.random(shape) < 3 / size.cities) & outlying
    values[shocked] *= rng.uniform(8, 30, int(shocked.sum()))
    values[rng.random(shape) < 0.03] = np.nan
    sparse = np.zeros(size.cities, dtype=bool)
    sparse[rng.choice(size.cities, max(2, size.cities // 200), replace=False)] = True
    holes = rng.random((size.years, int(sparse.sum()), size.indicators)) < 0.2
    values[:, sparse] = np.where(holes, np.nan, values[:, sparse])
    population = np.exp(12 + rng.standard_normal(size.cities)) * 1.01 ** np.arange(size.years)[
        :, None]
    counted = indicators["denominator"].notna().to_numpy()
    values[..., counted] *= population[..., None] / 1000  # counts: so many per 1,000 people
    population[rng.random(population.shape) < 0.005] = np.nan
    regions = np.array([f"R{k:02d}" for k in range(1, 13)], dtype=object)
    region = regions[rng.integers(0, len(regions), size.cities)]
    region[sparse] = None
    names = np.char.add("c", np.char.zfill(np.arange(size.cities).astype(str), 6))
    frame = pd.DataFrame(values.reshape(-1, size.indicators), columns=indicators["id"].tolist())
    frame.insert(0, "city", pd.array(np.tile(names, size.years), dtype="str"))
    frame.insert(1, "year", np.repeat(np.arange(2006, 2006 + size.years), size.cities))
    frame.insert(2, "region", pd.array(np.tile(region, size.years), dtype="str"))
    frame.insert(3, "population", population.reshape(-1))
    return frame, meta


def framework_toml(meta: pd.DataFrame) -> str:
    lines = ['id = "index"', 'name = "Synthetic city index"', 'groups = ["region"]']
    for row in meta[meta["level"].between(2, 3)].itertuples():
        lines += ["", "[[aggregate]]", f'id = "{row.id}"', f'parent = "{row.parent}"',
                  f"weight = {row.weight}"]
    for row in meta[meta["level"] == 1].itertuples():
        lines += ["", "[[indicator]]", f'id = "{row.id}"', f'parent = "{row.parent}"',
                  f"weight = {row.weight}", f"direction = {int(row.direction)}"]
        if isinstance(row.denominator, str):
            lines += [f'denominator = "{row.denominator}"', f"scale = {row.scale}"]
    return "\n".join(lines) + "\n"


def specs(meta: pd.DataFrame, low: float = 0):
    from indicators.composite.spec import load_framework, load_method

    return (load_framework(framework_toml(meta), "synthetic.toml"),
            load_method(METHOD.format(low=low), "synthetic.method.toml"))


# --- the engine ----------------------------------------------------------------------------------

def engine(frame: pd.DataFrame, meta: pd.DataFrame, steps: dict | None = None):
    """build_frame + node_ranks; `steps` collects each step's seconds."""
    from indicators.composite import build
    from indicators.composite.results import node_ranks

    framework, method = specs(meta)
    if steps is not None:
        for name, step in list(build.STEPS.items()):
            build.STEPS[name] = _timed(step, name, steps)
        build.aggregate_tree = _timed(build.aggregate_tree, "aggregate", steps)
        build.panel_from_wide = _timed(build.panel_from_wide, "read the wide frame", steps)
    start = time.perf_counter()
    coin = build.build_frame(framework, method, frame, unit="city", period="year")
    built = time.perf_counter()
    ranks = node_ranks(coin)
    if steps is not None:
        steps["whole build"] = built - start
        steps["ranks (node_ranks)"] = time.perf_counter() - built
    return coin, ranks


def _timed(function, name: str, seconds: dict):
    def timed(*arguments, **keywords):
        start = time.perf_counter()
        result = function(*arguments, **keywords)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
        return result

    return timed


def engine_index(coin) -> pd.DataFrame:
    """The Aggregated set's aggregates (index, sub-indices, dimensions) of the units the
    screen kept, by (year, city)."""
    columns = coin.columns["Aggregated"]
    nodes = [k for k, c in enumerate(columns) if coin.framework.nodes[c].kind != "indicator"]
    values = coin.sets["Aggregated"][..., nodes]
    index = pd.MultiIndex.from_product([coin.periods, coin.units], names=["year", "city"])
    frame = pd.DataFrame(values.reshape(-1, len(nodes)), index=index,
                         columns=[columns[k] for k in nodes])
    return frame[coin.included.reshape(-1)]


# --- the pandas baseline -----------------------------------------------------------------------

def pandas_normalised(frame: pd.DataFrame, meta: pd.DataFrame, normalise: str = "minmax",
                      low: float = 0, high: float = 100, seconds: dict | None = None):
    """Denominate, impute, screen, treat, normalise, the pandas way: (year, city) rows, one
    column per indicator; the cities the screen drops are dropped."""
    clock = _Clock(seconds)
    indicators = meta[meta["level"] == 1].set_index("id")
    data = frame.set_index(["year", "city"])
    x = data[indicators.index.tolist()]

    for name, row in indicators[indicators["denominator"].notna()].iterrows():
        x[name] = x[name] / data[row["denominator"]] * row["scale"]
    x = x.replace([np.inf, -np.inf], np.nan)
    clock("denominate")

    means = x.groupby([x.index.get_level_values("year"), data["region"]]).transform("mean")
    x = x.fillna(means)
    clock("impute")

    x = x[x.notna().mean(axis=1) >= 0.9]
    clock("screen")

    treated = []
    for _, year in x.groupby(level="year"):
        treated.append(pd.DataFrame({name: treat(year[name]) for name in year.columns}))
    x = pd.concat(treated)
    clock("treat")

    signed = x * indicators["direction"]
    by_year = signed.groupby(level="year")
    if normalise == "rank":
        x = by_year.rank(method="min")
    else:
        lowest, highest = by_year.transform("min"), by_year.transform("max")
        x = (signed - lowest) / (highest - lowest) * (high - low) + low
    clock("normalise")
    return x


def treat(values: pd.Series, skew_max: float = 2.0, kurt_max: float = 3.5,
          max_points: int = 5) -> pd.Series:
    """Winsorise the most extreme value, one at a time, until the skewness and kurtosis test
    passes or max_points values have been changed; then the log of the original values."""
    def fails(s: pd.Series) -> bool:
        return abs(s.skew()) >= skew_max and s.kurt() >= kurt_max

    if not fails(values):
        return values
    s = values.copy()
    changed = pd.Series(False, index=s.index)
    while changed.sum() < max_points:
        if s.skew() >= 0:
            extreme = s == s.max()
            rest = s[s < s.max()]
            if rest.empty:
                break
            s.loc[extreme] = rest.max()
        else:
            extreme = s == s.min()
            rest = s[s > s.min()]
            if rest.empty:
                break
            s.loc[extreme] = rest.min()
        changed |= extreme
        if not fails(s):
            return s
    spread = values.max() - values.min()
    return np.log(values - values.min() + 0.01 * spread)


def pandas_aggregate(normalised: pd.DataFrame, meta: pd.DataFrame,
                     weights: pd.Series | None = None, mean: str = "arithmetic") -> pd.DataFrame:
    """Each aggregate, level by level, as the weighted mean of its children that have a value
    (the weights of the missing ones left out)."""
    weight = meta.set_index("id")["weight"] if weights is None else weights
    scores = normalised
    for level in range(2, meta["level"].max() + 1):
        computed = {}
        for node, children in meta[meta["level"] == level - 1].groupby("parent", sort=False):
            block = scores[children["id"]]
            w = weight[children["id"]].to_numpy()
            total = block.notna().mul(w).sum(axis=1)
            if mean == "geometric":
                value = np.exp(np.log(block).mul(w).sum(axis=1) / total)
            else:
                value = block.mul(w).sum(axis=1) / total
            computed[node] = value.where(total > 0)
        scores = scores.join(pd.DataFrame(computed))
    return scores


def pandas_pipeline(frame: pd.DataFrame, meta: pd.DataFrame, seconds: dict | None = None):
    """(scores of every node, their ranks within each year)."""
    normalised = pandas_normalised(frame, meta, seconds=seconds)
    clock = _Clock(seconds)
    scores = pandas_aggregate(normalised, meta)
    clock("aggregate")
    ranks = scores.groupby(level="year").rank(ascending=False, method="min")
    clock("ranks")
    return scores, ranks


class _Clock:
    def __init__(self, seconds: dict | None):
        self.seconds, self.last = seconds, time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        if self.seconds is not None:
            self.seconds[step] = self.seconds.get(step, 0.0) + now - self.last
        self.last = now


def naive_monte_carlo(frame: pd.DataFrame, meta: pd.DataFrame, settings: dict) -> dict:
    """The engine's design (the same random sample, columns and alternatives), built as one
    would in pandas: each alternative normalisation once, then one full aggregation and
    ranking per replication. Returns the rank summary and the sensitivity indices."""
    rng = np.random.default_rng(settings["seed"])
    normalisations, means = settings["normalise"], settings["aggregate"]
    weighted = meta[meta["parent"].notna()].set_index("id")["weight"]
    noise = settings["weights_noise"]
    prepared = [pandas_normalised(frame, meta, a["method"], *a.get("range", [0, 100]))
                for a in normalisations]

    def index_ranks(normalised, weights, mean) -> pd.Series:
        index = pandas_aggregate(normalised, meta, weights, mean)["index"]
        return index.rank(ascending=False, method="min")

    nominal = index_ranks(prepared[0], weighted, means[0]["method"])

    def ranks(sample: np.ndarray) -> pd.DataFrame:
        rows = []
        for draw in sample:
            normalised = prepared[int(draw[0] * len(normalisations))]
            mean = means[int(draw[1] * len(means))]["method"]
            rows.append(index_ranks(normalised, weighted * (1 - noise + 2 * noise * draw[2:]),
                                    mean))
        return pd.DataFrame(rows, columns=nominal.index).reset_index(drop=True)

    def shift(ranks: pd.DataFrame) -> pd.Series:
        return (ranks - nominal).abs().mean(axis=1)

    a = rng.random((settings["replications"], 2 + len(weighted)))
    ranks_a = ranks(a)
    summary = pd.DataFrame({
        "nominal": nominal, "median": ranks_a.median(),
        "low": ranks_a.quantile(0.05, interpolation="lower"),
        "high": ranks_a.quantile(0.95, interpolation="higher"), "mean": ranks_a.mean(),
    })
    out = {"ranks": summary, "runs": len(a) + 1, "sensitivity": None}
    if settings.get("sensitivity", True):
        b = rng.random(a.shape)
        y_a, y_b = shift(ranks_a), shift(ranks(b))
        variance = pd.concat([y_a, y_b]).var()
        indices = {}
        for name, columns in (("normalise", [0]), ("aggregate", [1]),
                              ("weights", list(range(2, a.shape[1])))):
            ab = a.copy()
            ab[:, columns] = b[:, columns]
            y_ab = shift(ranks(ab))
            indices[name] = {"first_order": (y_b * (y_ab - y_a)).mean() / variance,
                             "total": ((y_a - y_ab) ** 2).mean() / 2 / variance}
        out["sensitivity"] = pd.DataFrame(indices).T
        out["runs"] += len(a) * 4
    return out


def monte_carlo_coin(frame: pd.DataFrame, meta: pd.DataFrame):
    from indicators.composite.build import build_frame

    framework, method = specs(meta, low=1)
    return build_frame(framework, method, frame, unit="city", period="year")


# --- the checks: the baseline gives the engine's results -----------------------------------------

def check() -> list[str]:
    """Stops the benchmark if the baseline and the engine disagree."""
    from indicators.composite.uncertainty import analyse

    frame, meta = generate(CHECK)
    coin, ranks = engine(frame, meta)
    ours = engine_index(coin)
    scores, pandas_ranks = pandas_pipeline(frame, meta)
    theirs = scores[ours.columns]
    if not ours.index.equals(theirs.index):
        sys.exit("check: the engine and pandas keep different cities")
    index_diff = float((ours["index"] - theirs["index"]).abs().max())
    every_diff = float((ours - theirs).abs().max().max())
    if not index_diff < 1e-9:
        sys.exit(f"check: the index differs from the pandas baseline's by {index_diff:.3g}")
    index_at = coin.columns["Aggregated"].index("index")
    engine_ranks = ranks[..., index_at].reshape(-1)[coin.included.reshape(-1)]
    if not np.array_equal(engine_ranks, pandas_ranks["index"].to_numpy()):
        sys.exit("check: the index ranks differ from the pandas baseline's")
    treated = sum(t.winsorised > 0 or t.logged for t in coin.treatments.values())
    notes = [f"pipeline, {CHECK}: pandas == engine on the {len(ours):,} city-years kept "
             f"(index max |diff| {index_diff:.1e}, every aggregate {every_diff:.1e}; index ranks "
             f"identical; {treated} of {len(coin.treatments)} indicator-years treated)"]

    frame, meta = generate(MONTE_CARLO_CHECK)
    settings = {**UNCERTAINTY, "replications": 100, "sensitivity": True}
    result = analyse(monte_carlo_coin(frame, meta), settings)
    naive = naive_monte_carlo(frame, meta, settings)
    got = result.ranks.droplevel(0) if isinstance(result.ranks.index, pd.MultiIndex) else \
        result.ranks
    want = naive["ranks"].droplevel("year").loc[got.index, got.columns]
    rank_diff = float((got - want).abs().max().max())
    sensitivity_diff = float((result.sensitivity - naive["sensitivity"].loc[
        result.sensitivity.index, result.sensitivity.columns]).abs().max().max())
    if not (rank_diff < 1e-9 and sensitivity_diff < 1e-9 and result.runs == naive["runs"]):
        sys.exit(f"check: Monte Carlo differs from the naive one: ranks by {rank_diff:.3g}, "
                 f"sensitivity by {sensitivity_diff:.3g}, runs {result.runs} / {naive['runs']}")
    notes.append(f"Monte Carlo, {MONTE_CARLO_CHECK}, 100 replications with sensitivity: naive == "
                 f"engine (nominal, median, 5%, 95%, mean rank of each city: max |diff| "
                 f"{rank_diff:.1e}; first-order and total indices {sensitivity_diff:.1e})")
    return notes


# --- the cases, each in a fresh process --------------------------------------------------------

def _pipeline_case(kind: str, touch_gb: float):
    """The whole pipeline on FULL, after a first call on CHECK (imports, first calls)."""
    def run(folder: Path) -> dict:
        frame, meta = generate(FULL)
        if kind == "engine":
            engine(*generate(CHECK))
        else:
            pandas_pipeline(*generate(CHECK))
        steps: dict[str, float] = {}
        before = fresh_peak(touch_gb)
        start = time.perf_counter()
        if kind == "engine":
            coin, _ = engine(frame, meta, steps)
        else:
            scores, _ = pandas_pipeline(frame, meta, steps)
        seconds = time.perf_counter() - start
        result = {"seconds": seconds, "peak_gb": memory_gb(), "grew_gb": memory_gb() - before,
                  "steps": steps}
        path = folder / f"{kind}.parquet"  # the index values, for the parent to compare
        if not path.exists():
            index = engine_index(coin)["index"] if kind == "engine" else scores["index"]
            index.to_frame("index").to_parquet(path)
        return result

    return run


def _monte_carlo_case(kind: str, sensitivity: bool, replications: int):
    """analyse() or the naive Monte Carlo, each timed with its own preparation of the data sets
    each alternative needs; the nominal composite is built first, untimed."""
    def run(folder: Path) -> dict:
        from indicators.composite.uncertainty import analyse

        frame, meta = generate(MONTE_CARLO)
        settings = {**UNCERTAINTY, "replications": replications, "sensitivity": sensitivity}
        if kind == "engine":
            coin = monte_carlo_coin(frame, meta)
            analyse(coin, {**settings, "replications": 5})  # first calls
            start = time.perf_counter()
            runs = analyse(coin, settings).runs
        else:
            naive_monte_carlo(frame, meta, {**settings, "replications": 2})
            start = time.perf_counter()
            runs = naive_monte_carlo(frame, meta, settings)["runs"]
        return {"seconds": time.perf_counter() - start, "runs": runs, "peak_gb": memory_gb()}

    return run


# The naive Monte Carlo takes ~30 ms a composite: it runs fewer replications (the same work
# per composite), and runs/s are compared.
NAIVE_REPLICATIONS, NAIVE_SENSITIVITY_REPLICATIONS = 200, 100
PIPELINES = {
    "pandas": ("pandas: the same method (baseline)", _pipeline_case("pandas", 3.5)),
    "engine": ("engine: build_frame + results.node_ranks", _pipeline_case("engine", 4.5)),
}
MONTE_CARLOS = {
    "mc-naive": (f"naive: a pandas aggregation per replication, {NAIVE_REPLICATIONS} repl.",
                 _monte_carlo_case("naive", False, NAIVE_REPLICATIONS)),
    "mc-engine": (f"engine: uncertainty.analyse, {REPLICATIONS:,} replications",
                  _monte_carlo_case("engine", False, REPLICATIONS)),
    "mc-naive-sensitivity": (f"naive, {NAIVE_SENSITIVITY_REPLICATIONS} replications",
                             _monte_carlo_case("naive", True, NAIVE_SENSITIVITY_REPLICATIONS)),
    "mc-engine-sensitivity": (f"engine: analyse, {REPLICATIONS:,} replications",
                              _monte_carlo_case("engine", True, REPLICATIONS)),
}
CASES = {**PIPELINES, **MONTE_CARLOS}


def _median_runs(keys: list[str], runs: int, folder: Path) -> dict[str, dict]:
    """Round robin over the cases, `runs` fresh processes each; medians of every figure."""
    worker = [sys.executable, "-m", "benchmarks.composite", "case"]
    got: dict[str, list[dict]] = {key: [] for key in keys}
    for _ in range(runs):
        for key in keys:
            got[key].append(reported([*worker, key, str(folder)]))
    medians = {}
    for key, results in got.items():
        medians[key] = {field: statistics.median(r[field] for r in results)
                        for field, value in results[0].items() if not isinstance(value, dict)}
        if "steps" in results[0]:
            medians[key]["steps"] = {step: statistics.median(r["steps"][step] for r in results)
                                     for step in results[0]["steps"]}
    return medians


def _agreement(folder: Path) -> str:
    engine_index, pandas_index = (pd.read_parquet(folder / f"{kind}.parquet")["index"]
                                  for kind in ("engine", "pandas"))
    if not engine_index.index.equals(pandas_index.index):
        sys.exit("the engine and pandas kept different city-years on the timed data")
    difference = float((engine_index - pandas_index).abs().max())
    if not difference < 1e-9:
        sys.exit(f"the index differs from pandas' by {difference:.3g} on the timed data")
    return (f"on the timed data too, the index of the {len(engine_index):,} city-years kept "
            f"agrees to {difference:.1e}")


def main(runs: int = RUNS) -> None:
    start = machine_clock()
    print("\nComposite engine (indicators/composite) against pandas; first, the baselines give "
          "the engine's results:")
    for note in reported([sys.executable, "-m", "benchmarks.composite", "check"])["notes"]:
        print(f"  {note}")
    with tempfile.TemporaryDirectory(prefix="citybench-composite-") as name:
        folder = Path(name)
        pipelines = _median_runs(list(PIPELINES), runs, folder)
        agreement = _agreement(folder)
        monte_carlo = _median_runs(list(MONTE_CARLOS), runs, folder)

    report_throughput(
        f"The whole pipeline, {FULL} ({FULL.rows:,} city-indicator-years), wide frame to the "
        f"ranks of every node;\nmedian of {runs} fresh processes each",
        [(label, pipelines[key]["seconds"]) for key, (label, _) in PIPELINES.items()],
        PIPELINES["pandas"][0], FULL.rows, unit="rows")
    print(f"  {agreement}")
    memory = ", ".join(
        f"{kind} {pipelines[kind]['peak_gb']:.1f} GB (grew {pipelines[kind]['grew_gb']:.1f})"
        for kind in PIPELINES)
    print(f"  peak resident memory, the {_frame_gb(FULL):.2f} GB input frame included: {memory}")
    print("\n  where the time goes (s)      pandas   engine")
    steps = {kind: pipelines[kind]["steps"] for kind in PIPELINES}
    for step in ("read the wide frame", "denominate", "impute", "screen", "treat", "normalise",
                 "aggregate", "ranks"):
        engine_step = steps["engine"].get(step, steps["engine"].get(f"{step} (node_ranks)"))
        pandas_step = steps["pandas"].get(step)
        print(f"    {step:<26} {_seconds(pandas_step):>8} {_seconds(engine_step):>8}")

    print(f"\nMonte Carlo, {MONTE_CARLO.cities:,} cities x {MONTE_CARLO.indicators} indicators: "
          "weights x U(0.75, 1.25), 2 normalisations x 2 aggregations;\nmedian of "
          f"{runs} fresh processes each, timed with the preparation of each alternative's data")
    print(f"  {'case':<58} {'composites':>10} {'median s':>9} {'runs/s':>8} {'speed-up':>9}")
    for key, (label, _) in MONTE_CARLOS.items():
        if key.startswith("mc-naive"):
            print("  with sensitivity indices, N(k+2) composites (k = 3)"
                  if "sensitivity" in key else "  without sensitivity indices")
            base = monte_carlo[key]["runs"] / monte_carlo[key]["seconds"]
        got = monte_carlo[key]
        speed = got["runs"] / got["seconds"]
        print(f"    {label:<56} {got['runs']:>10,} {got['seconds']:>9.2f} {speed:>8,.0f} "
              f"{speed / base:>8.3g}x")

    report_machine_use(start)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _frame_gb(size: Size) -> float:
    return size.cities * size.years * (size.indicators + 4) * 8 / 2**30


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "check":
        print(json.dumps({"notes": check()}))
    elif command == "case":
        print(json.dumps(CASES[arguments[0]][1](Path(arguments[1]))))
