"""`citybench score --framework F --method M --data D --out O`: composite scores of any data
set, wide (a column per indicator) or long (unit, indicator, value), from CSV, XLSX or
Parquet. No Prefect and no warehouse: the same engine the refresh uses, on a file.

A framework with a questionnaire (indicators.composite.questionnaire) takes an answer file
(city, question, answer) instead: the answers become indicator points first. `--city NAME`
(and `--peers "A;B;C"`) then print where NAME stands on every node among the units of the
file and among those peers (indicators.peers.report)."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.composite import diagnostics
from indicators.composite.build import build_frame
from indicators.composite.coin import Coin
from indicators.composite.data import SINGLE_PERIOD, long_to_wide
from indicators.composite.questionnaire import answers_to_indicators, load_questionnaire
from indicators.composite.results import node_ranks, scores_long
from indicators.composite.spec import SpecError, load_framework, load_method
from indicators.composite.uncertainty import UncertaintyResult, analyse
from indicators.peers.groups import CustomList, PeerData
from indicators.peers.report import ReportCard, nodes_frame, report_card
from warehouse.output_files import Output, OutputFailed, write_all
from warehouse.spreadsheet_csv import to_csv

PERIOD_NAMES = ("period", "year", "time")


class ScoreFailed(Exception):
    """A reason to stop, one line, already naming the file."""


def read_table(path: Path) -> pd.DataFrame:
    """A user's data file, parsed (never executed) by its extension."""
    suffix = path.suffix.lower()
    if path.is_dir():
        raise ScoreFailed(f"{path}: is a folder, not a data file")
    try:
        if suffix in (".csv", ".txt"):
            _check_rows(path)
            return pd.read_csv(path, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xls"):
            return _headed_cells(pd.read_excel(path, engine="calamine"), path)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except FileNotFoundError:
        raise ScoreFailed(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ScoreFailed(f"{path}: not UTF-8 text (byte {error.start})") from None
    except ScoreFailed:
        raise
    except Exception as error:  # a reader's own message, kept to its first line
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ScoreFailed(f"{path}: cannot be read as {suffix[1:]}: {first}") from None
    raise ScoreFailed(f"{path}: expected a .csv, .xlsx or .parquet file")


def _check_rows(path: Path) -> None:
    """Every row of a CSV has as many fields as its header: pandas fills a short row with
    blanks, and reads a file whose rows are one field longer with the first as an index,
    without a word (a blank line is skipped, as pandas does)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        for row in rows:
            if row and len(row) != len(header):
                raise ScoreFailed(
                    f"{path}: line {rows.line_num}: {len(row)} fields, the header has "
                    f"{len(header)}"
                )


def _headed_cells(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A sheet's cells all under a header: pandas names a column without one "Unnamed: N"
    and a value there (a row with an extra field) would be dropped without a word."""
    for position, name in enumerate(frame.columns):
        filled = frame.iloc[:, position].notna().to_numpy()
        if str(name).startswith("Unnamed: ") and filled.any():
            row = int(filled.argmax()) + 2  # the sheet's row: 1 is the header
            raise ScoreFailed(f"{path}: row {row}: a value in column {position + 1}, which "
                              "has no header")
    return frame


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScoreFailed(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScoreFailed(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise ScoreFailed(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise ScoreFailed(f"{path}: cannot be read: {error.strerror}") from None


def _columns(
    frame: pd.DataFrame, unit: str | None, period: str | None, source: Path
) -> tuple[str, str | None]:
    for flag, given in (("--unit", unit), ("--period", period)):
        if given is not None and given not in frame.columns:
            raise ScoreFailed(f"{source}: no column {given!r} (given by {flag})")
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
    questionnaire = load_questionnaire(framework)
    frame = read_table(data_path)
    if questionnaire is not None and unit is None and "city" in frame.columns:
        unit = "city"  # an answer file's unit column, wherever it stands
    unit, period = _columns(frame, unit, period, data_path)
    if questionnaire is not None:
        frame = answers_to_indicators(questionnaire, frame, unit=unit, period=period,
                                      source=data_path.name)
    elif {"indicator", "value"} <= set(frame.columns):
        frame = long_to_wide(frame, unit, period, source=data_path.name)
    absent = [i for i in framework.refresh.get("optional", []) if i not in frame.columns]
    if absent:
        # an optional indicator the file does not have is left out, as the refresh does
        framework = framework.without(absent)
        print(f"citybench score: optional indicator(s) not in {data_path.name}, left out: "
              f"{', '.join(absent)}", file=sys.stderr)
    coin = build_frame(framework, method, frame, unit=unit, period=period, source=data_path.name)
    _refuse_if_all_screened_out(coin)
    for line in zero_denominators(coin, data_path.name):
        print(f"citybench score: warning: {line}", file=sys.stderr)
    uncertainty = analyse(coin) if method.uncertainty else None
    return coin, uncertainty


def _refuse_if_all_screened_out(coin: Coin) -> None:
    """A screen that keeps no unit leaves nothing to rank: refused, rather than an empty
    table written with exit 0."""
    if coin.included is None or coin.included.any():
        return
    screen = next(record.parameters for record in coin.log if record.step == "screen")
    rule = {"availability": ["min_availability"], "zeros": ["min_nonzero"]}.get(
        screen["rule"], ["min_availability", "min_nonzero"])
    settings = ", ".join(f"{key} = {screen[key]:g}" for key in rule)
    raise ScoreFailed(f"{coin.method.source}: screen: every one of the {len(coin.units):,} "
                      f"units is screened out ({settings}): nothing to score")


def zero_denominators(coin: Coin, source: str) -> list[str]:
    """One line per indicator whose denominator is 0 for some unit with a value: the value
    per denominator is left missing (indicators.composite.denominate), and the user is told
    which units lost it rather than finding a blank."""
    if "Denominated" not in coin.sets:
        return []
    lines = []
    for i, indicator in enumerate(coin.panel.indicators):
        name = coin.framework.nodes[indicator].denominator
        if not name:
            continue
        zero = (coin.panel.denominators[name] == 0) & ~np.isnan(coin.panel.values[..., i])
        if zero.any():
            units = [coin.units[u] for u in np.flatnonzero(zero.any(axis=0))]
            lines.append(f"{source}: {name} is 0 for {_listed(units)}: their {indicator} per "
                         f"{name} is left missing")
    return lines


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
    framework and method files verbatim, with their hashes, into an existing folder."""
    for name in coin.sets:
        frames = [
            coin.frame(name, period).assign(period=period).set_index("period", append=True)
            for period in coin.periods
        ]
        data = pd.concat(frames).reset_index()
        if coin.periods == [SINGLE_PERIOD]:
            data = data.drop(columns="period")
        to_csv(data, folder / f"{name}.csv")
    if coin.treatments:
        treatments = pd.DataFrame(
            [
                {"period": coin.periods[p], "indicator": i, **{
                    k: v for k, v in t.__dict__.items() if k != "points"
                }, "points": json.dumps({coin.units[u]: s for u, s in t.points.items()})}
                for (p, i), t in coin.treatments.items()
            ]
        )
        to_csv(treatments, folder / "treatment.csv")
    effective = diagnostics.effective_weights(coin)
    to_csv(pd.DataFrame(
        {"node": list(coin.weights), "weight": list(coin.weights.values()),
         "effective_weight": [effective[n] for n in coin.weights]}
    ), folder / "weights.csv")
    to_csv(diagnostics.correlations_with_ancestor(coin), folder / "correlations.csv")
    to_csv(diagnostics.alpha_by_node(coin).rename_axis("node").to_frame(),
           folder / "cronbach_alpha.csv", index=True)
    variances, loadings = diagnostics.pca_by_node(coin)
    to_csv(variances, folder / "pca_variance.csv")
    to_csv(loadings, folder / "pca_loadings.csv")
    if uncertainty is not None:
        to_csv(uncertainty.ranks, folder / "uncertainty_ranks.csv", index=True)
        if uncertainty.sensitivity is not None:
            to_csv(uncertainty.sensitivity, folder / "sensitivity.csv", index=True)
    run = {}
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        run[name] = hashlib.sha256(text.encode()).hexdigest()
    (folder / "run.json").write_text(json.dumps({"sha256": run}, indent=2) + "\n")


def check_targets(out: Path, steps: Path | None, inputs: list[Path]) -> None:
    """Refuse, before any work, outputs that cannot be written or would destroy something:
    `--out` a folder, `--steps` a file or a folder of other files, a parent that is a file,
    an input or `--out` inside the `--steps` folder (which is replaced as a whole)."""
    if out.is_dir():
        raise ScoreFailed(f"{out}: --out is a folder; give a file, e.g. {out / 'scores.csv'}")
    _check_parent(out, "--out")
    if steps is None:
        return
    if steps.exists() and not steps.is_dir():
        raise ScoreFailed(f"{steps}: --steps exists and is not a folder")
    if steps.is_dir() and any(steps.iterdir()) and not (steps / "run.json").is_file():
        # a previous --steps folder is replaced; any other folder may hold someone's files
        raise ScoreFailed(
            f"{steps}: --steps is a folder of other files (no run.json of an earlier run); "
            "give a new or empty folder"
        )
    _check_parent(steps, "--steps")
    inside = [p for p in [*inputs, out] if p.resolve().is_relative_to(steps.resolve())]
    if inside:
        raise ScoreFailed(
            f"{inside[0]}: is inside the --steps folder {steps}, which is replaced as a whole"
        )


def _check_parent(path: Path, flag: str) -> None:
    """The nearest existing folder above `path` is a folder (the rest is created)."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ScoreFailed(f"{path}: {flag} cannot be written: {parent} is a file, not a folder")


def publish(
    table: pd.DataFrame,
    out: Path,
    steps: Path | None = None,
    write: Callable[[Path], None] | None = None,
) -> None:
    """Write `table` to `out` and, with `steps`, `write` (required then) into a new `steps`
    folder that replaces any earlier one: all of it or nothing (warehouse.output_files)."""
    outputs = [] if steps is None else [Output(steps, write, folder=True)]
    outputs.append(Output(out, lambda at: to_csv(table, at)))
    try:
        write_all(outputs)
    except OutputFailed as error:
        raise ScoreFailed(str(error)) from None


def run(args) -> int:
    try:
        check_targets(args.out, args.steps, [args.framework, args.method, args.data])
        coin, uncertainty = score_file(
            args.framework, args.method, args.data, unit=args.unit, period=args.period
        )
        table = results_table(coin, uncertainty)
        city, peers = getattr(args, "city", None), getattr(args, "peers", None)
        compared = None if city is None and peers is None else comparison(
            coin, city, peers, args.data)
        write = None  # --steps: what goes into the folder
        if args.steps is not None:
            texts = {
                "framework.toml": _read_text(args.framework),
                "method.toml": _read_text(args.method),
            }
            if (described := methodology_beside(args.framework)) is not None:
                texts["methodology.md"] = _read_text(described)

            def write(folder: Path) -> None:
                write_steps(folder, coin, uncertainty, texts)

        publish(table, args.out, args.steps, write)
    except (SpecError, ScoreFailed, ValueError) as error:
        print(f"citybench score: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    print(summary(coin, table, args.out))
    if compared is not None:
        print(compared)
    if args.steps is not None and methodology_beside(args.framework) is not None:
        print(f"citybench score: methodology -> {args.steps / 'methodology.md'}")
    return 0


def summary(coin: Coin, table: pd.DataFrame, out: Path) -> str:
    """The line a successful run prints: how many units of the latest period have a score,
    and the first of them."""
    latest = table[table["period"] == coin.periods[-1]] if "period" in table else table
    scored = latest.dropna(subset=["score"])
    line = (
        f"citybench score: {len(scored):,} of {len(coin.units):,} units scored on "
        f"{coin.framework.id} -> {out}"
    )
    if scored.empty:
        return line + " (none has the values the method requires)"
    return line + f" (first: {scored.iloc[0]['unit']}, {scored.iloc[0]['score']:.4g})"


# --city / --peers: a self-assessment against the panel that answered and against peers -----

def comparison(coin: Coin, city: str | None, peers: str | None, data: Path) -> str:
    """The lines `--city` prints: for every node, the city's points, its rank among the units
    of the file and among `peers` (a ";"-separated list of other units), with the quartiles of
    the others' points. The statistics are indicators.peers.report's, over two custom groups."""
    if city is None:
        raise ScoreFailed(f"{data}: --peers needs --city, the unit they are the peers of")
    for name in [city, *_names(peers)]:
        if name not in coin.units:
            flag = "--city" if name == city else "--peers"
            raise ScoreFailed(f"{data}: {flag}: no unit {name!r} in the file; units: "
                              f"{_listed(coin.units)}")
    scores = _run_scores(coin)
    named = np.array(coin.units, dtype=object)
    context = PeerData({"city_id": named, "name": named})
    others = [u for u in coin.units if u != city]
    panel = report_card(scores, CustomList(others, "every unit of the file").peers(city, context))
    # a questionnaire's units are the cities that answered it
    units = "cities that answered in" if coin.framework.questionnaire else "units of"
    lines = [f"citybench score: {city} on {coin.framework.id}, against the {len(coin.units)} "
             f"{units} {data.name}" + (f" and the peers {'; '.join(_names(peers))}"
                                       if peers else "")]
    table = _card_columns(panel, "panel")
    if peers:
        group = CustomList(_names(peers), "peers").peers(city, context)
        card = report_card(scores, group)
        table = table.join(_card_columns(card, "peers").drop(columns=["kind", "points"]))
        lines += [f"  note: {n}" for n in card.notes]
    lines.append(table.reset_index().to_string(index=False, na_rep="-"))
    lines += [
        "  points: the node's normalised score (an indicator's own points when the method "
        "normalises to goalposts 0-100)",
        "  rank N of M: among the M units with a score on the node (1 best, ties share the "
        "better rank); q1, median, q3: of the other units' points",
    ]
    return "\n".join(lines)


def _names(peers: str | None) -> list[str]:
    return [name.strip() for name in (peers or "").split(";") if name.strip()]


def _listed(units: list[str], most: int = 10) -> str:
    shown = ", ".join(units[:most])
    return shown + (f" and {len(units) - most:,} more" if len(units) > most else "")


def _run_scores(coin: Coin) -> dict[str, np.ndarray]:
    """The run's columns as report_card reads them (the warehouse's score table): the latest
    period, no rank interval (a file's run stores none per node)."""
    scores = scores_long(coin).rename(
        columns={"unit": "city_id", "node": "node_id", "kind": "node_kind"})
    if "period" in scores:
        scores = scores[scores["period"] == coin.periods[-1]]
    scores = scores.assign(rank_low=np.nan, rank_high=np.nan)
    return {column: scores[column].to_numpy() for column in scores}


def _card_columns(card: ReportCard, prefix: str) -> pd.DataFrame:
    nodes = nodes_frame(card.nodes).set_index("node_id")
    ranked = nodes["rank"].notna()
    rank = (nodes["rank"].astype("string") + " of " + nodes["compared"].astype("string"))
    return pd.DataFrame({
        "kind": nodes["node_kind"],
        "points": nodes["normalised"].round(1),
        f"{prefix}_rank": rank.where(ranked, "-"),
        f"{prefix}_q1": nodes["peer_q1"].astype(float).round(1),
        f"{prefix}_median": nodes["peer_median"].astype(float).round(1),
        f"{prefix}_q3": nodes["peer_q3"].astype(float).round(1),
    }).rename_axis("node")
