"""`citybench score --framework F --method M --data D --out O`: composite scores of any data
set, wide (a column per indicator) or long (unit, indicator, value), from CSV, XLSX or
Parquet. No Prefect and no warehouse: the same engine the refresh uses, on a file."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from indicators.composite import diagnostics
from indicators.composite.build import build_frame
from indicators.composite.coin import Coin
from indicators.composite.data import SINGLE_PERIOD, long_to_wide
from indicators.composite.results import node_ranks
from indicators.composite.spec import SpecError, load_framework, load_method
from indicators.composite.uncertainty import UncertaintyResult, analyse

PERIOD_NAMES = ("period", "year", "time")


class ScoreFailed(Exception):
    """A reason to stop, one line, already naming the file."""


def read_table(path: Path) -> pd.DataFrame:
    """A user's data file, parsed (never executed) by its extension."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path, engine="calamine")
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except FileNotFoundError:
        raise ScoreFailed(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ScoreFailed(f"{path}: not UTF-8 text (byte {error.start})") from None
    except Exception as error:  # a reader's own message, kept to its first line
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ScoreFailed(f"{path}: cannot be read as {suffix[1:]}: {first}") from None
    raise ScoreFailed(f"{path}: expected a .csv, .xlsx or .parquet file")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScoreFailed(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ScoreFailed(f"{path}: not UTF-8 text") from None


def _columns(
    frame: pd.DataFrame, unit: str | None, period: str | None
) -> tuple[str, str | None]:
    long = {"indicator", "value"} <= set(frame.columns)
    if unit is None:
        unit = "unit" if long and "unit" in frame.columns else str(frame.columns[0])
    if period is None:
        period = next((c for c in frame.columns if str(c).lower() in PERIOD_NAMES), None)
    return unit, period


def score_file(
    framework_path: Path,
    method_path: Path,
    data_path: Path,
    *,
    unit: str | None = None,
    period: str | None = None,
) -> tuple[Coin, UncertaintyResult | None]:
    framework = load_framework(_read_text(framework_path), framework_path.name)
    method = load_method(_read_text(method_path), method_path.name)
    frame = read_table(data_path)
    unit, period = _columns(frame, unit, period)
    if {"indicator", "value"} <= set(frame.columns):
        frame = long_to_wide(frame, unit, period, source=data_path.name)
    absent = [i for i in framework.refresh.get("optional", []) if i not in frame.columns]
    if absent:
        # an optional indicator the file does not have is left out, as the refresh does
        framework = framework.without(absent)
        print(f"citybench score: optional indicator(s) not in {data_path.name}, left out: "
              f"{', '.join(absent)}", file=sys.stderr)
    coin = build_frame(framework, method, frame, unit=unit, period=period, source=data_path.name)
    uncertainty = analyse(coin) if method.uncertainty else None
    return coin, uncertainty


def methodology_beside(framework_path: Path) -> Path | None:
    """`X.methodology.md` beside `X.toml`: the framework's methodology text, if it has one."""
    path = framework_path.with_name(framework_path.name.removesuffix(".toml") + ".methodology.md")
    return path if path.is_file() else None


def results_table(coin: Coin, uncertainty: UncertaintyResult | None) -> pd.DataFrame:
    """One row per unit (and period), best first: the index score and rank, the ranks within
    each group, every aggregate's score, and the rank interval when there was a Monte Carlo."""
    aggregated = coin.columns["Aggregated"]
    levels = coin.framework.levels
    aggregates = sorted(
        (n for n in aggregated if coin.framework.nodes[n].kind != "indicator"),
        key=lambda n: (-levels[n], aggregated.index(n)),
    )
    groups = list(coin.method.step("rank").get("groups", []))
    parts = []
    for p, period in enumerate(coin.periods):
        frame = coin.frame("Aggregated", period)[aggregates]
        index = frame.columns[0]
        ranks = pd.Series(node_ranks(coin)[p, :, aggregated.index(index)], index=coin.units)
        table = pd.DataFrame({"unit": frame.index})
        if period != SINGLE_PERIOD:
            table["period"] = period
        table["rank"] = ranks.reindex(frame.index).to_numpy()
        table["score"] = frame[index].to_numpy()
        for group in groups:
            in_group = node_ranks(coin, group)[p, :, aggregated.index(index)]
            table[group] = coin.panel.groups[group].reindex(frame.index).to_numpy()
            table[f"rank_{group}"] = pd.Series(in_group, index=coin.units)[frame.index].to_numpy()
        if uncertainty is not None and p == uncertainty_period(coin):
            interval = uncertainty.ranks.reindex(frame.index)
            table["rank_median"] = interval["median"].to_numpy()
            table["rank_low"] = interval["low"].to_numpy()
            table["rank_high"] = interval["high"].to_numpy()
        for node in aggregates[1:]:
            table[node] = frame[node].to_numpy()
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    whole = ["rank", "rank_low", "rank_high"] + [f"rank_{g}" for g in groups]
    for column in [c for c in whole if c in table]:
        table[column] = table[column].astype("Int64")
    sort = (["period"] if "period" in table else []) + ["rank", "unit"]
    return table.sort_values(sort, na_position="last").reset_index(drop=True)


def uncertainty_period(coin: Coin) -> int:
    return coin._period(coin.method.uncertainty.get("period"))


def write_steps(
    folder: Path,
    coin: Coin,
    uncertainty: UncertaintyResult | None,
    texts: dict[str, str],
) -> None:
    """Every intermediate data set, the treatment log, weights, diagnostics and the run's
    framework and method files verbatim, with their hashes."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in coin.sets:
        frames = [
            coin.frame(name, period).assign(period=period).set_index("period", append=True)
            for period in coin.periods
        ]
        data = pd.concat(frames).reset_index()
        if coin.periods == [SINGLE_PERIOD]:
            data = data.drop(columns="period")
        data.to_csv(folder / f"{name}.csv", index=False)
    if coin.treatments:
        pd.DataFrame(
            [
                {"period": coin.periods[p], "indicator": i, **{
                    k: v for k, v in t.__dict__.items() if k != "points"
                }, "points": json.dumps({coin.units[u]: s for u, s in t.points.items()})}
                for (p, i), t in coin.treatments.items()
            ]
        ).to_csv(folder / "treatment.csv", index=False)
    effective = diagnostics.effective_weights(coin)
    pd.DataFrame(
        {"node": list(coin.weights), "weight": list(coin.weights.values()),
         "effective_weight": [effective[n] for n in coin.weights]}
    ).to_csv(folder / "weights.csv", index=False)
    diagnostics.correlations_with_ancestor(coin).to_csv(folder / "correlations.csv", index=False)
    diagnostics.alpha_by_node(coin).rename_axis("node").to_csv(folder / "cronbach_alpha.csv")
    variances, loadings = diagnostics.pca_by_node(coin)
    variances.to_csv(folder / "pca_variance.csv", index=False)
    loadings.to_csv(folder / "pca_loadings.csv", index=False)
    if uncertainty is not None:
        uncertainty.ranks.to_csv(folder / "uncertainty_ranks.csv")
        if uncertainty.sensitivity is not None:
            uncertainty.sensitivity.to_csv(folder / "sensitivity.csv")
    run = {}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        run[name] = hashlib.sha256(text.encode()).hexdigest()
    (folder / "run.json").write_text(json.dumps({"sha256": run}, indent=2) + "\n")


def _write_atomically(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_csv(temporary, index=False)
        os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def run(args) -> int:
    try:
        coin, uncertainty = score_file(
            args.framework, args.method, args.data, unit=args.unit, period=args.period
        )
        table = results_table(coin, uncertainty)
        if args.steps is not None:
            texts = {
                "framework.toml": _read_text(args.framework),
                "method.toml": _read_text(args.method),
            }
            if (described := methodology_beside(args.framework)) is not None:
                texts["methodology.md"] = _read_text(described)
            write_steps(args.steps, coin, uncertainty, texts)
        _write_atomically(table, args.out)
    except (SpecError, ScoreFailed, ValueError) as error:
        print(f"citybench score: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    latest = table[table["period"] == coin.periods[-1]] if "period" in table else table
    top = latest.iloc[0]
    print(
        f"citybench score: {latest['score'].notna().sum():,} of {len(coin.units):,} units "
        f"scored on {coin.framework.id} -> {args.out} (first: {top['unit']}, "
        f"{top['score']:.4g})"
    )
    if args.steps is not None and methodology_beside(args.framework) is not None:
        print(f"citybench score: methodology -> {args.steps / 'methodology.md'}")
    return 0
