"""Run a framework and a method over a panel: denominate, impute, screen, treat, normalise,
aggregate, each step recorded in the coin with its parameters."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd

from indicators.composite.aggregate import AggregationError, aggregate
from indicators.composite.coin import SET_NAMES, Coin, StepRecord
from indicators.composite.data import SINGLE_PERIOD, Panel, panel_from_wide
from indicators.composite.denominate import denominate
from indicators.composite.impute import impute_column
from indicators.composite.moments import passes, skew_kurt
from indicators.composite.normalise import NormalisationError, normalise
from indicators.composite.screen import availability, included
from indicators.composite.spec import Framework, Method, SpecError, check_method
from indicators.composite.treat import Treatment, treat_column
from indicators.composite.weights import effective_weights, pca_weights

TREAT_DEFAULTS = {
    "method": "winsorise", "skew": 2.0, "kurtosis": 3.5, "max_points": 5, "fallback": "log",
}
NORMALISE_DEFAULTS = {"method": "minmax", "range": [0.0, 100.0]}


def build(framework: Framework, method: Method, panel: Panel) -> Coin:
    check_method(framework, method)
    coin = prepare(framework, method, panel)
    aggregate_tree(coin, coin.sets["Normalised"])
    return coin


def prepare(framework: Framework, method: Method, panel: Panel) -> Coin:
    """Every step up to and including normalisation (the Monte Carlo reuses these sets and
    repeats only the aggregation)."""
    coin = Coin(framework, method, panel)
    coin.record("Raw", panel.values, panel.indicators)
    current = panel.values
    for step in method.order:
        if step == "aggregate":
            break
        configured = step in method.raw or step in ("denominate", "normalise")
        if configured:
            before, current = current, STEPS[step](coin, current)
            if step in FINITE_AFTER:
                _check_finite(coin, step, before, current)
    return coin


# The steps after which every value must be a finite number: after `denominate` a zero
# denominator leaves a value missing (documented), after `screen` a unit left out is.
FINITE_AFTER = ("denominate", "impute", "treat", "normalise")


def _check_finite(coin: Coin, step: str, before: np.ndarray, after: np.ndarray) -> None:
    """No step may turn a number into an infinity, or into a NaN (a missing value) unless it
    is one of the two above: a NaN would drop out of the aggregation without a word, and an
    infinity would give every unit the same score. Floating point overflows (values near
    1e308) and formulas a rule does not cover end here, naming the indicator and the key."""
    bad = np.isinf(after)
    if step != "denominate":
        bad |= np.isnan(after) & ~np.isnan(before)
    if not bad.any():
        return
    p, u, i = np.argwhere(bad)[0]
    indicator = coin.panel.indicators[i]
    source, key, value = _setting(coin, step, indicator)
    period = _in_period(coin, p)
    largest = np.nanmax(np.abs(before[..., i]), initial=0.0)
    hint = (
        f" (its values reach {largest:.3g}: too large to compute with, rescale the indicator)"
        if largest > 1e150 else ""
    )
    what = "an infinite value" if np.isinf(after[p, u, i]) else "no number (NaN)"
    # the denominator's key names the indicator already
    named = "" if step == "denominate" else f'indicator "{indicator}", '
    raise SpecError(
        f"{source}: {key} = {value}: {named}unit {coin.units[u]!r}{period}: gives {what}{hint}"
    )


def _in_period(coin: Coin, p: int) -> str:
    """" in 2018" for a message (a Python value: not np.int64(2018)); "" without periods."""
    if coin.periods == [SINGLE_PERIOD]:
        return ""
    label = coin.periods[p]
    return f" in {label.item() if isinstance(label, np.generic) else label!r}"


def _setting(coin: Coin, step: str, indicator: str) -> tuple[str, str, str]:
    """The file, key and value that configured `step` for `indicator`, for a message."""
    if step == "denominate":
        node = coin.framework.nodes[indicator]
        key = f'indicator "{indicator}".denominator'
        return coin.framework.source, key, f'"{node.denominator}"'
    override = coin.method.raw.get(step, {}).get("indicator", {}).get(indicator, {})
    key = f"{step}.indicator.{indicator}.method" if "method" in override else f"{step}.method"
    defaults = {"impute": "none", "treat": TREAT_DEFAULTS["method"], "normalise": "minmax"}
    chosen = coin.method.for_indicator(step, indicator).get("method", defaults[step])
    return coin.method.source, key, f'"{chosen}"'


def group_columns(framework: Framework, method: Method) -> list[str]:
    """The unit attributes the run uses: the framework's groups, the imputation groups and
    the ranking groups."""
    wanted = list(framework.groups) + list(method.step("rank").get("groups", []))
    table = method.raw.get("impute", {})
    wanted += [t["group"] for t in [table, *table.get("indicator", {}).values()] if "group" in t]
    return list(dict.fromkeys(wanted))


def build_frame(
    framework: Framework,
    method: Method,
    frame: pd.DataFrame,
    *,
    unit: str,
    period: str | None = None,
    source: str = "data",
) -> Coin:
    """A wide frame (one row per unit and period) through the whole method."""
    panel = panel_from_wide(
        frame, framework, unit=unit, period=period, groups=group_columns(framework, method),
        source=source,
    )
    return build(framework, method, panel)


def _denominate(coin: Coin, x: np.ndarray) -> np.ndarray:
    nodes = [coin.framework.nodes[i] for i in coin.panel.indicators]
    if not coin.method.step("denominate").get("enabled", True) or not any(
        n.denominator for n in nodes
    ):
        return x
    out = denominate(
        x,
        [coin.panel.denominators[n.denominator] if n.denominator else None for n in nodes],
        [n.scale for n in nodes],
    )
    used = {n.id: {"denominator": n.denominator, "scale": n.scale} for n in nodes if n.denominator}
    coin.log.append(StepRecord("denominate", used))
    coin.record(SET_NAMES["denominate"], out, coin.panel.indicators)
    return out


def _impute(coin: Coin, x: np.ndarray) -> np.ndarray:
    # Indicator by indicator, each a contiguous (P, U) block: reading and writing x[..., i]
    # strided through the whole panel, four times an indicator, cost more than two copies.
    columns = np.ascontiguousarray(np.moveaxis(x, -1, 0))
    imputed = np.empty_like(columns)
    parameters, counts, labels_of = {}, {}, {}
    for i, indicator in enumerate(coin.panel.indicators):
        params = {"method": "none", "window": 1} | coin.method.for_indicator("impute", indicator)
        group = params.get("group")
        if group and group not in labels_of:
            labels_of[group] = coin.panel.groups[group].to_numpy(dtype=object)
        labels = labels_of[group] if group else None
        if params["method"].startswith("group_") and labels is None:
            # a SpecError, as every other mistake in a method file: one line, no traceback
            raise SpecError(f"{coin.method.source}: impute.group: needed by {params['method']}")
        imputed[i] = impute_column(columns[i], params["method"], labels, params["window"])
        parameters[indicator] = params
        counts[indicator] = int(np.sum(np.isnan(columns[i]) & ~np.isnan(imputed[i])))
    out = np.moveaxis(imputed, 0, -1).copy()
    coin.log.append(StepRecord("impute", parameters, {"imputed": counts}))
    coin.record(SET_NAMES["impute"], out, coin.panel.indicators)
    return out


def _screen(coin: Coin, x: np.ndarray) -> np.ndarray:
    params = {
        "enabled": True, "rule": "availability", "min_availability": 0.0, "min_nonzero": 0.0,
    } | coin.method.step("screen")
    if not params["enabled"]:
        return x
    keep = included(x, params["rule"], params["min_availability"], params["min_nonzero"])
    available, nonzero = availability(x)
    coin.included = keep
    out = np.where(keep[..., None], x, np.nan)
    coin.log.append(
        StepRecord(
            "screen",
            params,
            {"availability": available, "nonzero": nonzero, "included": keep},
        )
    )
    coin.record(SET_NAMES["screen"], out, coin.panel.indicators)
    return out


def _treat(coin: Coin, x: np.ndarray) -> np.ndarray:
    out = x.copy()
    parameters = {}
    indicators = coin.panel.indicators
    settings = [TREAT_DEFAULTS | coin.method.for_indicator("treat", i) for i in indicators]
    for p in range(x.shape[0]):
        # One vectorised test for every indicator; only the failing ones are treated one by one.
        skews, kurts = skew_kurt(x[p])
        for i, indicator in enumerate(indicators):
            params = settings[i]
            parameters[indicator] = params
            ok = bool(passes(skews[i], kurts[i], params["skew"], params["kurtosis"]))
            if params["method"] == "none" or (ok and params["method"] == "winsorise"):
                s, k = float(skews[i]), float(kurts[i])
                coin.treatments[(p, indicator)] = Treatment(s, k, ok, 0, s, k, ok, False, {})
                continue
            out[p, :, i], coin.treatments[(p, indicator)] = treat_column(
                x[p, :, i],
                params["method"],
                params["skew"],
                params["kurtosis"],
                params["max_points"],
                params["fallback"],
            )
    coin.log.append(StepRecord("treat", parameters))
    coin.record(SET_NAMES["treat"], out, indicators)
    return out


def _normalise(coin: Coin, x: np.ndarray) -> np.ndarray:
    indicators = coin.panel.indicators
    nodes = [coin.framework.nodes[i] for i in indicators]
    out = np.empty_like(x)
    parameters = {
        i: NORMALISE_DEFAULTS | coin.method.for_indicator("normalise", i) for i in indicators
    }
    # Indicators that share their parameters are normalised together, as one block.
    blocks: dict[str, list[int]] = {}
    for i, indicator in enumerate(indicators):
        target = parameters[indicator].get("target", nodes[i].target)  # the method's wins
        if parameters[indicator]["method"] == "distance_to_target" and target is None:
            # normalise() can only say that some target is missing; here we know which
            raise SpecError(
                f'{coin.framework.source}: indicator "{indicator}".target: needed by '
                f"{coin.method.source}: normalise.method = \"distance_to_target\""
            )
        blocks.setdefault(json.dumps(parameters[indicator], sort_keys=True), []).append(i)
    for key, columns in blocks.items():
        params = json.loads(key)
        directions = np.array([nodes[i].direction for i in columns], dtype=float)
        given = [params.get("target", nodes[i].target) for i in columns]
        targets = np.array([np.nan if t is None else t for t in given], dtype=float)
        try:
            out[..., columns] = normalise(x[..., columns], directions, params, targets)
        except NormalisationError as error:
            indicator = indicators[columns[error.column]]
            source, key, value = _setting(coin, "normalise", indicator)
            period = "" if error.period is None else _in_period(coin, error.period)
            raise SpecError(
                f'{source}: {key} = {value}: indicator "{indicator}"{period}: {error.reason}'
            ) from None
    coin.log.append(StepRecord("normalise", parameters))
    coin.record(SET_NAMES["normalise"], out, indicators)
    return out


def aggregate_tree(coin: Coin, normalised: np.ndarray) -> None:
    """Aggregate level by level, record the Aggregated set, the weights and their effect."""
    framework = coin.framework
    try:
        values, weights, parameters = aggregate_values(
            framework, coin.method, coin.panel, normalised
        )
    except AggregationError as error:
        raise SpecError(f"{coin.method.source}: {error}") from None
    coin.weights = weights
    parents = {n.id: n.parent for n in framework.nodes.values()}
    coin.log.append(
        StepRecord(
            "aggregate",
            parameters,
            {"weights": weights, "effective_weights": effective_weights(parents, weights)},
        )
    )
    columns = list(values)  # the indicators, as in `normalised`, then the aggregates
    aggregates = np.stack([values[c] for c in columns[normalised.shape[-1] :]], axis=-1)
    coin.record(SET_NAMES["aggregate"], np.concatenate([normalised, aggregates], axis=-1), columns)


def aggregate_values(
    framework: Framework,
    method: Method,
    panel: Panel,
    normalised: np.ndarray,
    weights: dict[str, float | np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, dict]]:
    """Each node from its children, with its level's aggregation method and the weights the
    method gives (or `weights`, as given, for every node: a number, or an array with one
    weight per replication, the replications leading the shape of `normalised`).

    Returns every node's values (indicators first, the index last), the weights used and
    each node's parameters. An AggregationError names the node and the method's key."""
    levels = framework.levels
    values = {c: normalised[..., k] for k, c in enumerate(panel.indicators)}
    position = {c: k for k, c in enumerate(panel.indicators)}
    used = {node: framework.nodes[node].weight for node in framework.nodes}
    parameters = {}
    for node in framework.aggregates:
        children = framework.children(node)
        level = levels[node]
        if weights is None:
            used.update(_weights(method, level - 1, node, children, used, values))
        else:
            used.update({c: weights[c] for c in children})
        params = {
            "method": "arithmetic", "power": 1.0, "min_availability": 0.0,
            "copeland_ties": "exact",
        } | method.for_level("aggregate", level)
        parameters[node] = params
        where = f'{_level_key(method, "aggregate", level)} = "{params["method"]}" at "{node}"'
        stacked = _side_by_side(children, values, normalised, position)
        child_weights = np.stack(np.broadcast_arrays(*[used[c] for c in children]), axis=-1)
        if child_weights.ndim > 1:  # one set per replication, broadcast over the units
            child_weights = child_weights[..., None, :]
        try:
            score = aggregate(
                stacked, child_weights, params["method"], float(params["power"]),
                params["copeland_ties"],
            )
        except AggregationError as error:
            unit = "" if error.unit is None else f", unit {panel.units[error.unit]!r}"
            raise AggregationError(f"{where}{unit}: {error}") from None
        if params["min_availability"] > 0:
            # COINr's dat_thresh: too few children with data and the unit gets no score here
            enough = np.mean(~np.isnan(stacked), axis=-1) >= params["min_availability"]
            score = np.where(enough, score, np.nan)
        values[node] = score
    return values, used, parameters


def _level_key(method: Method, step: str, level: int) -> str:
    """`step.level.N.method` when that level's table chose the method, else `step.method`."""
    scoped = method.raw.get(step, {}).get("level", {}).get(str(level), {})
    return f"{step}.level.{level}.method" if "method" in scoped else f"{step}.method"


def _side_by_side(
    children: list[str],
    values: dict[str, np.ndarray],
    normalised: np.ndarray,
    position: dict[str, int],
) -> np.ndarray:
    """The children's values, (..., U, children): a slice of the normalised set when they are
    consecutive indicators (the usual order of a framework file), rather than a copy gathered
    column by strided column."""
    at = [position.get(c) for c in children]
    if None not in at and at == list(range(at[0], at[0] + len(at))):
        return normalised[..., at[0] : at[0] + len(at)]
    return np.stack(np.broadcast_arrays(*[values[c] for c in children]), axis=-1)


def _weights(
    method: Method,
    level: int,
    node: str,
    children: list[str],
    framework_weights: dict[str, float],
    values: dict[str, np.ndarray],
) -> dict[str, float]:
    """The weights of one node's children, who all sit at `level` (or below, in an uneven
    tree: the children's own level decides)."""
    params = {"method": "manual"} | method.for_level("weights", level)
    chosen = params["method"]
    if chosen == "equal":
        return dict.fromkeys(children, 1.0)
    if chosen == "pca":
        stacked = np.stack([values[c] for c in children], axis=-1)
        try:
            return dict(zip(children, pca_weights(stacked).tolist(), strict=True))
        except ValueError as error:
            key = _level_key(method, "weights", level)
            raise AggregationError(f'{key} = "pca" at "{node}": {error}') from None
    overrides = params.get("values", {})
    chosen_weights = {c: float(overrides.get(c, framework_weights[c])) for c in children}
    if sum(chosen_weights.values()) <= 0:
        # every unit would be left without a score at this node
        raise AggregationError(
            f'weights at "{node}": its children ({", ".join(children)}) weigh 0 in all'
        )
    return chosen_weights


STEPS: dict[str, Callable[[Coin, np.ndarray], np.ndarray]] = {
    "denominate": _denominate,
    "impute": _impute,
    "screen": _screen,
    "treat": _treat,
    "normalise": _normalise,
}
