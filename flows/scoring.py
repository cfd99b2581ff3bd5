"""Score the staging warehouse with every packaged framework (flows/frameworks/), recording each
run's framework, method and methodology verbatim, and what the run left out and why.

A framework's `[refresh]` table says how the warehouse feeds it (the engine never reads it):

- `universe = { indicator, source }`: only cities with an observation of that indicator from
  that source are scored (without it, every city with data);
- `period = { indicator = year }`: that year's value instead of the latest;
- `[refresh.growth.<id>]` `of`, `from`, `to`: a derived indicator, the average annual growth
  of `of` between the two years, in % a year;
- `absent_is_zero = [...]`: a city of the universe the indicator's source does not list counts
  0 (a route or twinning list names every city it knows), when the indicator has any value;
- `optional = [...]` and `min_coverage`: an optional indicator enters only when at least that
  share of the universe has a value; otherwise it is left out, and its dimension with it;
- `one_dataset = [...]`: the indicator's values all come from one dataset, the one giving a
  value for the most cities of the universe (measures computed within each service-value
  matrix compare only within it); the notes name it and the datasets left aside.

A framework whose required indicators have no value at all is not scored: its run is recorded
with no scores and a note saying what is missing, and the refresh goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

import pandas as pd

import indicators.composite
from flows.code_hash import source_hash
from indicators.composite.build import build_frame
from indicators.composite.results import scores_long
from indicators.composite.spec import Framework, SpecError, load_framework, load_method
from indicators.composite.uncertainty import analyse
from indicators.growth import annual_growth
from warehouse import scores as stored
from warehouse.connect import Connection

# The Rankings page's default: what the project puts forward as its benchmark.
HEADLINE = "world_connectivity"
DEFAULT_FRAMEWORK = HEADLINE
REFRESH_KEYS = {"universe", "period", "growth", "absent_is_zero", "optional", "min_coverage",
                "one_dataset"}


# the scoring code itself: a change in how scores are computed is a new score run even when
# framework, method and data are the same
ENGINE_HASH = source_hash(indicators.composite)


@dataclass(frozen=True)
class ScoreOutcome:
    score_run_id: str
    cities: int
    reused: bool
    framework_id: str = DEFAULT_FRAMEWORK
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        state = "unchanged" if self.reused else "new score run"
        scored = f"{self.cities:,} cities" if self.cities else "not scored"
        return f"{self.framework_id}: {scored} ({state} {self.score_run_id})"


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def packaged() -> list[str]:
    """The names of the packaged frameworks, the headline first."""
    folder = resources.files("flows.frameworks")
    names = sorted(
        entry.name.removesuffix(".toml") for entry in folder.iterdir()
        if entry.name.endswith(".toml") and not entry.name.endswith(".method.toml")
    )
    return sorted(names, key=lambda name: name != HEADLINE)


def framework_files(name: str = DEFAULT_FRAMEWORK) -> tuple[str, str]:
    folder = resources.files("flows.frameworks")
    return (
        (folder / f"{name}.toml").read_text(encoding="utf-8"),
        (folder / f"{name}.method.toml").read_text(encoding="utf-8"),
    )


def methodology(name: str) -> str | None:
    """The methodology text packaged beside the framework, if there is one."""
    path = resources.files("flows.frameworks") / f"{name}.methodology.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


@dataclass
class Inputs:
    """What the warehouse gives a framework: one row per city of the universe, a column per
    indicator (and the groups), and the notes of what was chosen and left out."""

    framework: Framework
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required indicators with no value


def _refresh_rules(framework: Framework, source: str) -> dict:
    rules = framework.refresh
    unknown = sorted(set(rules) - REFRESH_KEYS)
    if unknown:
        raise SpecError(f"{source}: refresh: unknown key {unknown[0]!r}; known: "
                        f"{', '.join(sorted(REFRESH_KEYS))}")
    named = [*rules.get("absent_is_zero", []), *rules.get("optional", []),
             *rules.get("period", {}), *rules.get("growth", {}), *rules.get("one_dataset", [])]
    for indicator in named:
        if indicator not in framework.indicators:
            raise SpecError(f"{source}: refresh: {indicator!r} is not an indicator of it")
    return rules


def gather(con: Connection, framework: Framework, source: str) -> Inputs:
    """The universe's values of each indicator, by the framework's [refresh] rules."""
    rules = _refresh_rules(framework, source)
    derived = rules.get("growth", {})
    stored_ids = [i for i in framework.indicators if i not in derived]
    # a derived indicator's direction is the framework's alone: the warehouse has no such row
    directions = stored.directions(con, stored_ids)
    for indicator in stored_ids:
        declared = framework.nodes[indicator].direction
        if indicator in directions and directions[indicator] != declared:
            raise SpecError(f'{source}: indicator "{indicator}".direction: {declared}, '
                            f"the warehouse says {directions[indicator]}")
    data = stored.latest_values(con, stored_ids)
    for indicator, period in rules.get("period", {}).items():
        data[indicator] = stored.values_in(con, indicator, int(period)).reindex(data.index)
    for indicator, growth in derived.items():
        start = stored.values_in(con, growth["of"], int(growth["from"]))
        end = stored.values_in(con, growth["of"], int(growth["to"]))
        years = int(growth["to"]) - int(growth["from"])
        data[indicator] = annual_growth(start, end, years).reindex(data.index)
    notes = []
    held = data[framework.indicators].notna().any()  # in the warehouse, for any city
    universe = rules.get("universe")
    if universe:
        members = stored.cities_with(con, universe["indicator"], universe["source"])
        data = data.reindex(pd.Index(members, name=data.index.name).intersection(data.index))
        notes.append(f"universe: {len(data):,} cities with {universe['indicator']} from "
                     f"{universe['source']}")
    else:
        data = data[data[framework.indicators].notna().any(axis=1)]
        notes.append(f"universe: {len(data):,} cities with a value of any indicator")
    for indicator in rules.get("one_dataset", []):
        data[indicator], note = _from_one_dataset(con, indicator, data.index)
        if note:
            notes.append(note)
    # coverage is judged on the values the sources gave, before absences count as 0
    listed = data[framework.indicators].notna().sum()
    zeros: dict[int, list[str]] = {}
    for indicator in rules.get("absent_is_zero", []):
        if data[indicator].notna().any():
            zeros.setdefault(int(data[indicator].isna().sum()), []).append(indicator)
            data[indicator] = data[indicator].fillna(0.0)
    notes += [f"counted 0 for the {count:,} cities their source does not list: "
              f"{', '.join(ids)}" for count, ids in sorted(zeros.items()) if count]
    optional, least = set(rules.get("optional", [])), float(rules.get("min_coverage", 0.0))
    left_out, missing = [], []
    for indicator in framework.indicators:
        have = int(listed[indicator])
        share = have / len(data) if len(data) else 0.0
        if indicator in optional and (have == 0 or share < least):
            left_out.append(indicator)
            why = ("no value in the warehouse (its source is not loaded)" if not held[indicator]
                   else f"{have:,} of {len(data):,} cities have a value ({share:.0%}), below "
                   f"the {least:.0%} the framework requires")
            notes.append(f"left out (optional): {indicator}: {why}")
        elif have == 0:
            missing.append(indicator)
    if left_out and not missing:
        framework = framework.without(left_out)
    return Inputs(framework, data, notes, missing)


def _from_one_dataset(con: Connection, indicator: str,
                      universe: pd.Index) -> tuple[pd.Series, str | None]:
    """The indicator's values from the dataset that covers the most of the universe (ties: the
    first by id), and the note saying which, when there was a choice."""
    values = stored.values_by_dataset(con, indicator)
    values = values[values["city_id"].isin(universe)]
    if values.empty:
        return pd.Series(float("nan"), index=universe), None
    covered = values.groupby("dataset_id")["city_id"].nunique()
    chosen = covered.sort_index(kind="stable").idxmax()
    kept = values[values["dataset_id"] == chosen].set_index("city_id")["value"]
    others = covered.drop(chosen)
    note = None if others.empty else (
        f"{indicator}: from one dataset, {chosen} ({covered[chosen]:,} cities of the "
        f"universe); left aside: " + ", ".join(f"{d} ({n:,})" for d, n in others.items()))
    return kept.reindex(universe), note


def _with_rank_intervals(scores: pd.DataFrame, coin, index_id: str) -> pd.DataFrame:
    """The index rank's 5-95% interval from the method's Monte Carlo, when it has one."""
    if not coin.method.uncertainty:
        return scores.assign(rank_low=None, rank_high=None)
    interval = analyse(coin).ranks[["low", "high"]].rename(
        columns={"low": "rank_low", "high": "rank_high"}
    )
    on_index = scores["node_id"] == index_id
    joined = scores.join(interval, on="city_id")
    return joined.assign(
        rank_low=joined["rank_low"].where(on_index), rank_high=joined["rank_high"].where(on_index)
    )


def _unranked_note(scores: pd.DataFrame, index_id: str, cities: int) -> str:
    ranked = int(scores.loc[scores["node_id"] == index_id, "rank"].notna().sum())
    if ranked == cities:
        return f"ranked: all {cities:,} cities (every indicator that entered has a value)"
    return (f"ranked: {ranked:,} of {cities:,} cities; {cities - ranked:,} lack a value the "
            "method's min_availability requires and have no index score")


def score_warehouse(con: Connection, name: str = DEFAULT_FRAMEWORK) -> ScoreOutcome:
    framework_text, method_text = framework_files(name)
    text = methodology(name)
    framework = load_framework(framework_text, f"{name}.toml")
    method = load_method(method_text, f"{name}.method.toml")
    inputs = gather(con, framework, f"{name}.toml")
    data = inputs.data
    input_hash = _sha(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    run_id = _sha("\0".join([framework_text, method_text, text or "", input_hash,
                             ENGINE_HASH]))[:16]
    notes = list(inputs.notes)
    if inputs.missing or data.empty:
        notes.append("not scored: no value of " + ", ".join(inputs.missing or
                     inputs.framework.indicators) + " for the cities of its universe")
    if stored.has_score_run(con, run_id):
        return ScoreOutcome(run_id, 0 if inputs.missing else len(data), True, framework.id,
                            tuple(notes))

    scores = None
    if not (inputs.missing or data.empty):
        coin = build_frame(inputs.framework, method,
                           data.rename_axis("city_id").reset_index(), unit="city_id",
                           source="warehouse")
        scores = (
            scores_long(coin, ["country", "continent"])
            .rename(columns={"unit": "city_id", "node": "node_id", "kind": "node_kind"})
            .assign(score_run_id=run_id)
        )
        scores = _with_rank_intervals(scores, coin, framework.id)
        notes.append(_unranked_note(scores, framework.id, len(data)))
    cities = 0 if scores is None else len(data)
    run = pd.DataFrame([{
        "score_run_id": run_id,
        "framework_id": framework.id,
        "framework": framework_text,
        "method": method_text,
        "framework_hash": _sha(framework_text),
        "method_hash": _sha(method_text),
        "input_hash": input_hash,
        "created_at": datetime.now(UTC),
        "cities": cities,
        "methodology": text,
        "notes": "\n".join(notes),
    }])
    stored.write_score_run(con, run, _empty_scores(run_id) if scores is None else scores)
    return ScoreOutcome(run_id, cities, False, framework.id, tuple(notes))


def _empty_scores(run_id: str) -> pd.DataFrame:
    columns = ["score_run_id", "city_id", "node_id", "node_kind", "value", "normalised",
               "rank", "percentile", "rank_country", "percentile_country", "rank_continent",
               "percentile_continent", "rank_low", "rank_high"]
    frame = pd.DataFrame({c: pd.Series(dtype=object if c in columns[:4] else float)
                          for c in columns})
    frame["score_run_id"] = frame["score_run_id"].fillna(run_id)
    for column in [c for c in columns if c.startswith("rank")]:
        frame[column] = frame[column].astype("Int64")
    return frame


def score_all(con: Connection) -> list[ScoreOutcome]:
    """One score run per packaged framework (reused when framework, method, methodology, data
    and engine are unchanged), the headline first."""
    return [score_warehouse(con, name) for name in packaged()]

