"""Framework and method files (TOML) -> validated specifications.

A framework is the tree (indicators -> aggregates -> index) with weights, directions and
denominators; a method says how each step treats the data. Every problem is reported as one
line naming the file and the key, e.g. `asem.toml: indicator "Flights".weight: "one" is not a
number`, because the people who write these files fix them from that line alone.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from typing import Any


class SpecError(ValueError):
    """A framework or method file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    parent: str | None
    weight: float
    kind: str  # "indicator" | "aggregate" | "index"
    direction: int = 1
    denominator: str | None = None
    scale: float = 1.0
    target: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Framework:
    """The tree. `levels[node]` is 1 for indicators and one more than the highest child above."""

    id: str
    name: str
    nodes: dict[str, Node]
    groups: tuple[str, ...]
    source: str = "framework"
    # The file's [refresh] table, as written: how the refresh picks the units and the values
    # it scores (the engine itself never reads it; `citybench score` scores the file given).
    refresh: dict[str, Any] = field(default_factory=dict)
    # A self-assessment's [[question]], [scales.X] and [questionnaire] tables, as written
    # (indicators.composite.questionnaire reads them; the engine scores the indicators).
    questionnaire: dict[str, Any] = field(default_factory=dict)

    @property
    def indicators(self) -> list[str]:
        return [n.id for n in self.nodes.values() if n.kind == "indicator"]

    @property
    def aggregates(self) -> list[str]:
        """Every node above the indicators, children before their parents (the index last)."""
        return sorted(
            (n.id for n in self.nodes.values() if n.kind != "indicator"),
            key=lambda node: self.levels[node],
        )

    @property
    def levels(self) -> dict[str, int]:
        return _levels(self.nodes)

    def children(self, node: str) -> list[str]:
        return [n.id for n in self.nodes.values() if n.parent == node]

    def with_weights(self, weights: dict[str, float]) -> Framework:
        nodes = {
            key: Node(**{**node.__dict__, "weight": weights.get(key, node.weight)})
            for key, node in self.nodes.items()
        }
        return Framework(
            self.id, self.name, nodes, self.groups, self.source, self.refresh,
            self.questionnaire,
        )

    def without(self, indicators: set[str] | list[str]) -> Framework:
        """This framework with these indicators left out, and with them every aggregate left
        with no children; the remaining siblings keep their weights (renormalised when
        aggregated). Leaving out every indicator is a SpecError."""
        nodes = {k: n for k, n in self.nodes.items() if k not in set(indicators)}
        while empty := [k for k, n in nodes.items() if n.kind != "indicator"
                        and not any(c.parent == k for c in nodes.values())]:
            if self.id in empty:
                raise SpecError(f"{self.source}: no indicator left to score")
            nodes = {k: n for k, n in nodes.items() if k not in empty}
        return Framework(
            self.id, self.name, nodes, self.groups, self.source, self.refresh,
            self.questionnaire,
        )


MAX_DEPTH = 100  # nodes from an indicator up to the index; real composites have 3 to 6


def _check_depth(nodes: dict[str, Node], source: str) -> None:
    """No cycle, and no chain of parents longer than MAX_DEPTH: each node's depth (the index
    is 1) is found once, walking up only to the first node already known, so a deep tree
    costs no more than a flat one (walking every node to the root took 3 s at 1,500 levels,
    and the recursive level count then overflowed Python's stack)."""
    depth: dict[str, int] = {}
    for node in nodes.values():
        path: list[str] = []
        key: str | None = node.id
        while key is not None and key not in depth:
            if key in path:
                cycle = " -> ".join([*path[path.index(key):], key])
                raise SpecError(f'{source}: {node.kind} "{node.id}".parent: cycle {cycle}')
            path.append(key)
            key = nodes[key].parent
        below = 0 if key is None else depth[key]
        for offset, step in enumerate(reversed(path), start=1):
            depth[step] = below + offset
        if depth[node.id] > MAX_DEPTH:
            raise SpecError(
                f'{source}: {node.kind} "{node.id}".parent: the tree is {depth[node.id]:,} '
                f"levels deep here; at most {MAX_DEPTH}"
            )


def _levels(nodes: dict[str, Node]) -> dict[str, int]:
    levels: dict[str, int] = {}

    def level(key: str) -> int:
        if key not in levels:
            below = [level(c) for c, n in nodes.items() if n.parent == key]
            levels[key] = 1 + max(below, default=0)
        return levels[key]

    for key in nodes:
        level(key)
    return levels


def _load(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{source}: not valid TOML: {error}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise SpecError(f"{source}: not valid TOML: arrays or tables nested too deeply") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: {value!r} is not a number".replace("'", '"'))
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: expected a non-empty text, got {value!r}")
    return value


def _check_keys(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}")


NODE_KEYS = {"id", "name", "parent", "weight"}
INDICATOR_KEYS = NODE_KEYS | {"direction", "denominator", "scale", "target", "unit"}
# a self-assessment framework's tables (checked by indicators.composite.questionnaire)
QUESTIONNAIRE_KEYS = ("question", "scales", "questionnaire")


def load_framework(text: str, source: str = "framework.toml") -> Framework:
    """Parse and check a framework file: unique ids, known parents, no cycle, numeric weights,
    directions of +1 or -1, one root (the index)."""
    raw = _load(text, source)
    # a questionnaire's tables are checked by indicators.composite.questionnaire
    _check_keys(
        {k: v for k, v in raw.items() if k not in QUESTIONNAIRE_KEYS},
        {"id", "name", "description", "groups", "indicator", "aggregate", "refresh"}, source
    )
    index_id = _text(raw.get("id"), f"{source}: id")
    nodes: dict[str, Node] = {
        index_id: Node(index_id, str(raw.get("name", index_id)), None, 1.0, "index")
    }
    for kind, keys in (("aggregate", NODE_KEYS), ("indicator", INDICATOR_KEYS)):
        entries = raw.get(kind, [])
        if not isinstance(entries, list):
            raise SpecError(f"{source}: {kind}: expected [[{kind}]] tables")
        for position, entry in enumerate(entries, start=1):
            label = f"{source}: {kind} #{position}"
            if not isinstance(entry, dict):
                raise SpecError(f"{label}: expected a table")
            node_id = _text(entry.get("id"), f"{label}.id")
            where = f'{source}: {kind} "{node_id}"'
            _check_keys(entry, keys, where)
            if node_id in nodes:
                raise SpecError(f"{where}.id: defined twice")
            direction = entry.get("direction", 1)
            if direction not in (1, -1) or isinstance(direction, bool):
                raise SpecError(f"{where}.direction: expected 1 or -1, got {direction!r}")
            weight = _number(entry.get("weight", 1.0), f"{where}.weight")
            if weight < 0:
                raise SpecError(f"{where}.weight: {weight:g} is negative")
            target = entry.get("target")
            denominator = entry.get("denominator")
            if denominator is not None:
                # a number here would only fail later, as "no column 5" in the data
                _text(denominator, f"{where}.denominator")
            nodes[node_id] = Node(
                id=node_id,
                name=str(entry.get("name", node_id)),
                parent=_text(entry.get("parent", index_id), f"{where}.parent"),
                weight=weight,
                kind=kind,
                direction=int(direction),
                denominator=denominator or None,
                scale=_number(entry.get("scale", 1.0), f"{where}.scale"),
                target=None if target is None else _number(target, f"{where}.target"),
                unit=str(entry.get("unit", "")),
            )
    _check_tree(nodes, source)
    groups = raw.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise SpecError(f"{source}: groups: expected a list of column names")
    refresh = raw.get("refresh", {})
    if not isinstance(refresh, dict):
        raise SpecError(f"{source}: refresh: expected a table [refresh]")
    questionnaire = {key: raw[key] for key in QUESTIONNAIRE_KEYS if key in raw}
    return Framework(index_id, nodes[index_id].name, nodes, tuple(groups), source, refresh,
                     questionnaire)


def _check_tree(nodes: dict[str, Node], source: str) -> None:
    for node in nodes.values():
        if node.parent is None:
            continue
        where = f'{source}: {node.kind} "{node.id}".parent'
        parent = nodes.get(node.parent)
        if parent is None:
            raise SpecError(f"{where}: no node {node.parent!r}")
        if parent.kind == "indicator":
            raise SpecError(f"{where}: {node.parent!r} is an indicator, which has no children")
    _check_depth(nodes, source)
    for node in nodes.values():
        if node.kind != "indicator" and not any(n.parent == node.id for n in nodes.values()):
            raise SpecError(f'{source}: {node.kind} "{node.id}": has no children')
    for node in nodes.values():
        if node.kind != "indicator":
            children = [n for n in nodes.values() if n.parent == node.id]
            if sum(n.weight for n in children) <= 0:
                raise SpecError(f'{source}: {node.kind} "{node.id}": children weights sum to 0')


# Method --------------------------------------------------------------------------------------

IMPUTATIONS = ("none", "mean", "median", "group_mean", "group_median", "locf")
TREATMENTS = ("none", "winsorise", "log")
NORMALISATIONS = (
    "minmax", "zscore", "rank", "percentile_rank", "distance_to_max", "distance_to_target",
    "fraction_of_max", "goalposts", "none",
)
WEIGHTINGS = ("manual", "equal", "pca")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "generalised", "copeland")
SCREEN_RULES = ("availability", "zeros", "availability_and_zeros")
# exact: a pair whose comparisons weigh the same for both is a tie; coinr: COINr's rounding
COPELAND_TIES = ("exact", "coinr")
STEP_ORDER = ("denominate", "impute", "screen", "treat", "normalise", "aggregate")


@dataclass(frozen=True)
class Method:
    """Every step's parameters, with per-indicator and per-level overrides already resolved by
    the accessors below. `raw` is the parsed file, kept for the record."""

    raw: dict[str, Any]
    order: tuple[str, ...]
    source: str = "method"
    uncertainty: dict[str, Any] = field(default_factory=dict)

    def step(self, name: str) -> dict[str, Any]:
        table = self.raw.get(name, {})
        return {k: v for k, v in table.items() if k not in ("indicator", "level")}

    def for_indicator(self, name: str, indicator: str) -> dict[str, Any]:
        table = self.raw.get(name, {})
        return self.step(name) | table.get("indicator", {}).get(indicator, {})

    def for_level(self, name: str, level: int) -> dict[str, Any]:
        table = self.raw.get(name, {})
        return self.step(name) | table.get("level", {}).get(str(level), {})

    def replace(self, step: str, table: dict[str, Any]) -> Method:
        """This method with one step's whole table replaced (an uncertainty alternative)."""
        return Method({**self.raw, step: table}, self.order, self.source, self.uncertainty)


STEP_KEYS = {
    "denominate": {"enabled"},
    "impute": {"method", "group", "window", "indicator"},
    "screen": {"enabled", "min_availability", "min_nonzero", "rule"},
    "treat": {"method", "skew", "kurtosis", "max_points", "fallback", "indicator"},
    "normalise": {"method", "range", "mean", "sd", "low", "high", "target", "pooled", "indicator"},
    "weights": {"method", "values", "level"},
    "aggregate": {"method", "power", "min_availability", "copeland_ties", "level"},
    "rank": {"groups"},
    "uncertainty": {
        "replications", "seed", "weights_noise", "sensitivity", "period", "normalise",
        "aggregate", "impute", "treat",
    },
}
CHOICES = {
    "impute": IMPUTATIONS,
    "treat": TREATMENTS,
    "normalise": NORMALISATIONS,
    "weights": WEIGHTINGS,
    "aggregate": AGGREGATIONS,
}


def load_method(text: str, source: str = "method.toml") -> Method:
    raw = _load(text, source)
    _check_keys(raw, set(STEP_KEYS) | {"order", "description"}, source)
    for step, keys in STEP_KEYS.items():
        table = raw.get(step, {})
        if not isinstance(table, dict):
            raise SpecError(f"{source}: {step}: expected a table [{step}]")
        _check_keys(table, keys, f"{source}: {step}")
        tables = [(f"{source}: {step}", table)]
        for scope in ("indicator", "level"):
            scoped = table.get(scope, {})
            if not isinstance(scoped, dict):
                # `indicator = 3` would otherwise fail with an AttributeError, not one line
                raise SpecError(f"{source}: {step}.{scope}: expected tables [{step}.{scope}.X]")
            for key, sub in scoped.items():
                where = f"{source}: {step}.{scope}.{key}"
                if not isinstance(sub, dict):
                    raise SpecError(f"{where}: expected a table")
                _check_keys(sub, keys - {"indicator", "level"}, where)
                tables.append((where, sub))
        for where, sub in tables:
            _check_parameters(step, sub, where)
    order = raw.get("order", STEP_ORDER)
    if not isinstance(order, list | tuple):
        # a text would be read letter by letter ("unknown step 'a'")
        raise SpecError(f"{source}: order: expected a list of steps, got {order!r}")
    order = tuple(order)
    unknown = [s for s in order if s not in STEP_ORDER]
    if unknown:
        raise SpecError(
            f"{source}: order: unknown step {unknown[0]!r}; known: {', '.join(STEP_ORDER)}"
        )
    if not order or order[-1] != "aggregate" or "normalise" not in order or len(set(order)) < len(
        order
    ):
        raise SpecError(f"{source}: order: each step once, normalise before aggregate (last)")
    _check_uncertainty(raw.get("uncertainty", {}), f"{source}: uncertainty")
    return Method(raw, order, source, raw.get("uncertainty", {}))


def _check_parameters(step: str, table: dict[str, Any], where: str) -> None:
    if "method" in table and step in CHOICES:
        _choice(table["method"], CHOICES[step], f"{where}.method")
    for key in ("skew", "kurtosis", "mean", "sd", "low", "high", "target", "power",
                "min_availability", "min_nonzero"):
        if key in table:
            _number(table[key], f"{where}.{key}")
    for key in ("min_availability", "min_nonzero"):
        # shares, not percentages: 90 would screen out every unit without a word
        if key in table and not 0 <= table[key] <= 1:
            raise SpecError(f"{where}.{key}: expected a share in [0, 1], got {table[key]!r}")
    for key in ("max_points", "window"):
        if key in table and not _whole(table[key], 0):
            raise SpecError(f"{where}.{key}: expected a whole number >= 0, got {table[key]!r}")
    for key in ("enabled", "pooled"):
        # enabled = "false" is a text, and a non-empty text is true: the step would run
        if key in table and not isinstance(table[key], bool):
            raise SpecError(f"{where}.{key}: expected true or false, got {table[key]!r}")
    if "range" in table:
        bounds = table["range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise SpecError(f"{where}.range: expected [low, high]")
        low, high = (_number(b, f"{where}.range") for b in bounds)
        if not high > low:
            raise SpecError(f"{where}.range: high must be above low")
    if "sd" in table and table["sd"] <= 0:
        raise SpecError(f"{where}.sd: must be above 0")
    if "fallback" in table:
        _choice(table["fallback"], ("log", "none"), f"{where}.fallback")
    if "rule" in table:
        _choice(table["rule"], SCREEN_RULES, f"{where}.rule")
    if "copeland_ties" in table:
        _choice(table["copeland_ties"], COPELAND_TIES, f"{where}.copeland_ties")
    if "values" in table:
        if not isinstance(table["values"], dict):
            raise SpecError(f"{where}.values: expected a table of node = weight")
        for node, weight in table["values"].items():
            if _number(weight, f"{where}.values.{node}") < 0:
                raise SpecError(f"{where}.values.{node}: {weight:g} is negative")
    if "groups" in table and not isinstance(table["groups"], list):
        raise SpecError(f"{where}.groups: expected a list of column names")


def _whole(value: Any, least: int) -> bool:
    """An integer >= least; TOML's true is not one, although Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _choice(value: Any, known: tuple[str, ...], where: str) -> str:
    if value not in known:
        raise SpecError(f"{where}: unknown {value!r}; known: {', '.join(known)}")
    return value


def _check_uncertainty(table: dict[str, Any], where: str) -> None:
    if "replications" in table and not _whole(table["replications"], 1):
        value = table["replications"]
        if isinstance(value, float) and value.is_integer() and 1 <= value <= 1e15:
            # TOML reads 1e8 as a float: say how to write the number meant
            raise SpecError(
                f"{where}.replications: expected a whole number >= 1 (write {value:.0f}: "
                f"TOML reads {value:g} as a decimal number)"
            )
        raise SpecError(f"{where}.replications: expected a whole number >= 1")
    if "seed" in table and not _whole(table["seed"], 0):
        raise SpecError(f"{where}.seed: expected a whole number >= 0")
    if "weights_noise" in table:
        noise = _number(table["weights_noise"], f"{where}.weights_noise")
        if not 0 <= noise < 1:
            raise SpecError(f"{where}.weights_noise: expected a share in [0, 1)")
    for step in ("normalise", "aggregate", "impute", "treat"):
        alternatives = table.get(step, [])
        if not isinstance(alternatives, list):
            # a text would be read letter by letter, a table key by key
            raise SpecError(
                f"{where}.{step}: expected a list of tables such as [{{ method = ... }}]"
            )
        if len(alternatives) == 1:
            # one alternative is not an uncertainty; silently running the nominal step
            # instead of it would surprise whoever wrote it
            raise SpecError(f"{where}.{step}: give two alternatives or more, or none")
        for position, alternative in enumerate(alternatives, start=1):
            label = f"{where}.{step}[{position}]"
            if not isinstance(alternative, dict):
                raise SpecError(f"{label}: expected a table such as {{ method = ... }}")
            _check_keys(alternative, STEP_KEYS[step] - {"indicator", "level"}, label)
            _check_parameters(step, alternative, label)


def check_method(framework: Framework, method: Method) -> None:
    """What a method names must exist in the framework it runs on. Without this check an
    override for a misspelt indicator (`[normalise.indicator.Flight]`), a level the tree does
    not have or a weight for a missing node was ignored without a word."""
    top = max(framework.levels.values())
    spans = {"aggregate": (2, top, "aggregates into"), "weights": (1, top - 1, "weighs")}
    for step, table in method.raw.items():
        if not isinstance(table, dict):
            continue
        for key in table.get("indicator", {}):
            if key not in framework.indicators:
                raise SpecError(
                    f'{method.source}: {step}.indicator.{key}: no indicator "{key}" in '
                    f"{framework.source}"
                )
        for key in table.get("level", {}) if step in spans else ():
            low, high, verb = spans[step]
            if not (key.isdigit() and low <= int(key) <= high):
                raise SpecError(
                    f"{method.source}: {step}.level.{key}: {framework.source} {verb} "
                    f"levels {low} to {high} only"
                )
    weights = method.raw.get("weights", {})
    scoped = [(f"weights.level.{k}", t) for k, t in weights.get("level", {}).items()]
    for where, table in [("weights", weights), *scoped]:
        for node in table.get("values", {}):
            if node not in framework.nodes:
                raise SpecError(
                    f'{method.source}: {where}.values.{node}: no node "{node}" in '
                    f"{framework.source}"
                )
