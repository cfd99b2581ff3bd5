"""Score the staging warehouse with a framework and method file, recording both verbatim."""

from __future__ import annotations

import hashlib
import inspect
import pkgutil
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module, resources

import pandas as pd

import indicators.composite
from indicators.composite.build import build_frame
from indicators.composite.results import scores_long
from indicators.composite.spec import SpecError, load_framework, load_method
from indicators.composite.uncertainty import analyse
from warehouse import scores as stored
from warehouse.connect import Connection

DEFAULT_FRAMEWORK = "prominence"


def _engine_hash() -> str:
    """The scoring code itself: a change in how scores are computed is a new score run even
    when framework, method and data are the same."""
    package = indicators.composite
    modules = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    source = "".join(
        inspect.getsource(import_module(f"{package.__name__}.{name}")) for name in modules
    )
    return hashlib.sha256(source.encode()).hexdigest()


ENGINE_HASH = _engine_hash()


@dataclass(frozen=True)
class ScoreOutcome:
    score_run_id: str
    cities: int
    reused: bool


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def framework_files(name: str = DEFAULT_FRAMEWORK) -> tuple[str, str]:
    folder = resources.files("flows.frameworks")
    return (
        (folder / f"{name}.toml").read_text(encoding="utf-8"),
        (folder / f"{name}.method.toml").read_text(encoding="utf-8"),
    )


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


def score_warehouse(con: Connection, name: str = DEFAULT_FRAMEWORK) -> ScoreOutcome:
    framework_text, method_text = framework_files(name)
    framework = load_framework(framework_text, f"{name}.toml")
    method = load_method(method_text, f"{name}.method.toml")
    indicator_ids = framework.indicators
    directions = stored.directions(con, indicator_ids)
    for indicator in indicator_ids:
        if indicator not in directions:
            raise SpecError(f'{name}.toml: indicator "{indicator}": not in the warehouse')
        declared = framework.nodes[indicator].direction
        if directions[indicator] != declared:
            raise SpecError(
                f'{name}.toml: indicator "{indicator}".direction: {declared}, '
                f"the warehouse says {directions[indicator]}"
            )

    data = stored.latest_values(con, indicator_ids)
    input_hash = _sha(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    run_id = _sha("\0".join([framework_text, method_text, input_hash, ENGINE_HASH]))[:16]
    if stored.has_score_run(con, run_id):
        return ScoreOutcome(run_id, len(data), reused=True)

    coin = build_frame(
        framework, method, data.rename_axis("city_id").reset_index(), unit="city_id",
        source="warehouse",
    )
    scores = (
        scores_long(coin, ["country", "continent"])
        .rename(columns={"unit": "city_id", "node": "node_id", "kind": "node_kind"})
        .assign(score_run_id=run_id)
    )
    scores = _with_rank_intervals(scores, coin, framework.id)
    run = pd.DataFrame([{
        "score_run_id": run_id,
        "framework_id": framework.id,
        "framework": framework_text,
        "method": method_text,
        "framework_hash": _sha(framework_text),
        "method_hash": _sha(method_text),
        "input_hash": input_hash,
        "created_at": datetime.now(UTC),
        "cities": len(data),
    }])
    stored.write_score_run(con, run, scores)
    return ScoreOutcome(run_id, len(data), reused=False)
