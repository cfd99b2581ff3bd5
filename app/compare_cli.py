"""`citybench compare CITY`: where a city stands among cities like it, and whom to learn from.

    citybench compare "Lyon, FR"
    citybench compare Lyon --peers same-country --framework european_cities --format json
    citybench compare Lyon --peers "Marseille, FR; Birmingham, GB; gn:3169070"
    citybench compare Lyon --peers twin_cities        # a list saved in citybench.toml

The peers are a rule's (indicators.peers.groups: nearest-profile by default), a list saved by
name under [peers.lists] in the config, or a list given inline, ';'-separated. The answer is
the report card (indicators.peers.report) and the learn-from suggestions
(indicators.peers.learn) of the framework's current score run. Reads only; no Prefect, and no
pandas (its import alone took a third of an answer's time): the reads give numpy columns or
rows (dicts), and so do the functions of indicators/peers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from app.lookup import candidate_lines, find_city
from indicators.names import CityNotFound, missing
from indicators.peers import groups, learn, report
from indicators.peers import profile as profiles
from warehouse import lookup, spreadsheet_csv
from warehouse import peers as stored
from warehouse import practices as recorded
from warehouse.connect import Connection, WarehouseMissing, reading

# The framework asked for when none is named, in this order: the first that scores the city.
FRAMEWORKS = ("world_connectivity", "european_cities", "prominence")
# how many of the nearest cities on the profile are looked at for whom to learn from: more
# than a card's peers, so that a city ahead on one dimension is found among them
LEARN_FROM_K = 25


class CompareError(ValueError):
    """A request that cannot be answered; the message is one line (and the candidates)."""

    def __init__(self, message: str, lines: list[str] | None = None):
        super().__init__(message)
        self.lines = lines or []


def _rule_names() -> list[str]:
    return [rule.name for rule in groups.rules() if not isinstance(rule, groups.CustomList)]


@dataclass(frozen=True)
class Comparison:
    city: dict
    framework: str
    card: report.ReportCard
    group: groups.PeerGroup
    learn_from: list[dict]
    labels: dict[str, str]
    also_named: list[dict]
    notes: tuple[str, ...] = ()


def run(args: argparse.Namespace, db: Path, lists: dict[str, list[str]]) -> int:
    """`lists`: the config's [peers.lists]."""
    try:
        with reading(db) as con:
            comparison = compare(con, args.city, args.peers, args.framework, args.k, lists)
    except WarehouseMissing as error:  # none yet, or one published before the search's index
        print(f"citybench compare: {error}", file=sys.stderr)
        return 1
    except CompareError as error:
        print("\n".join([f"citybench compare: {error}", *error.lines]), file=sys.stderr)
        return 1
    print(FORMATTERS[args.format](comparison))
    return 0


def compare(con: Connection, text: str, peers: str | None, framework: str | None, k: int,
            lists: dict[str, list[str]]) -> Comparison:
    """The card of the city `text` names. `peers` None: the nearest on the profile, else (a
    city outside the profile's universe) its size class; `framework` None: the first of
    FRAMEWORKS that scores the city. Each default taken is said in the notes."""
    city_id, also_named = _city(con, text)
    notes = []
    framework = _framework(con, city_id, framework, notes)
    spec = stored.run_framework(con, framework)
    context = stored.context(con, datetime.date.today().year, profiles.GROWTH_YEARS)
    data = groups.PeerData(context, stored.shared_ties(con, city_id))
    group = _rule(con, peers or groups.NearestProfile.name, k, lists).peers(city_id, data)
    if peers is None and not group.applies:
        notes.append(f"peers by size class: the nearest on the profile do not apply "
                     f"({group.reason})")
        group = groups.SizeClass().peers(city_id, data)
    similar = groups.NearestProfile(LEARN_FROM_K).peers(city_id, data)
    if not similar.applies:
        similar = group
    # one read for the card's peers and the similar cities: each function keeps its own
    scores, previous = _scores(con, framework, city_id, [*group.ids, *similar.ids])
    card = report.report_card(scores, group, previous)
    members = {}
    for node in spec.get("indicator", []):
        members.setdefault(node.get("parent"), set()).add(node["id"])
    suggestions = learn.learn_from(scores, similar, data.ties, _practices(con, similar),
                                   members)
    (city,) = lookup.cities(con, [city_id])
    return Comparison(city, framework, card, group, suggestions, _labels(spec), also_named,
                      tuple(notes))


def _framework(con: Connection, city_id: str, asked: str | None, notes: list[str]) -> str:
    known = stored.framework_ids(con)
    if not known:
        raise CompareError("the warehouse holds no score run: run `citybench refresh` first")
    if asked is not None and asked not in known:
        raise CompareError(f"no score run of framework '{asked}'; there are: "
                           + ", ".join(known))
    scoring = stored.frameworks_scoring(con, city_id)
    if asked is not None:
        if asked not in scoring:
            notes.append(f"{asked} does not score {city_id}; frameworks that do: "
                         + (", ".join(scoring) or "none"))
        return asked
    preferred = [f for f in FRAMEWORKS if f in known] + [f for f in known if f not in FRAMEWORKS]
    chosen = next((f for f in preferred if f in scoring), preferred[0])
    if chosen != preferred[0]:
        notes.append(f"framework {chosen}: {preferred[0]} does not score {city_id} "
                     f"(--framework chooses)")
    return chosen


def _city(con: Connection, text: str) -> tuple[str, list[dict]]:
    try:
        return find_city(con, text)
    except CityNotFound as error:
        lines = candidate_lines(error.candidates)
        if lines and all(row["tier"] == "spelling" for row in error.candidates):
            lines.insert(0, "nearest spellings:")
        raise CompareError(str(error), lines) from None


def _rule(con: Connection, peers: str, k: int, lists: dict[str, list[str]]) -> groups.PeerRule:
    """A rule by name, a saved list by name, or an inline list ('A; B; gn:1')."""
    by_name = {rule.name: rule for rule in groups.rules()}
    if peers == groups.NearestProfile.name:
        if k < 1:
            raise CompareError(f"--k {k}: ask for at least one neighbour")
        return groups.NearestProfile(k)
    if peers in by_name and peers != groups.CustomList.name:
        return by_name[peers]
    if peers in lists:
        return groups.CustomList(_list_ids(con, lists[peers], f"[peers.lists] {peers}"), peers)
    if ";" in peers:
        return groups.CustomList(_list_ids(con, peers.split(";"), "--peers"), "given list")
    choices = _rule_names() + sorted(lists)
    raise CompareError(f"--peers {peers!r}: not a rule or a saved list; give one of "
                       f"{', '.join(choices)}, or cities separated by ';'")


def _list_ids(con: Connection, entries: list[str], where: str) -> list[str]:
    ids = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            ids.append(find_city(con, entry)[0])
        except CityNotFound as error:
            raise CompareError(f"{where}: {error}", candidate_lines(error.candidates)) from None
    return ids


def _scores(con: Connection, framework: str, city_id: str, others: list[str]):
    """The run's scores of the city and `others`, and the city's previous observations."""
    scores = stored.run_scores(con, framework, list(dict.fromkeys([city_id, *others])))
    indicators = [node for city, kind, node in zip(
        scores["city_id"], scores["node_kind"], scores["node_id"], strict=True)
        if city == city_id and kind == "indicator"]
    previous = stored.previous_observations(con, city_id, indicators,
                                            stored.run_periods(con, framework))
    return scores, previous


def _practices(con: Connection, group: groups.PeerGroup) -> list[dict]:
    """Every practice recorded for the group's cities, whatever its outcome."""
    return recorded.practices(con, group.ids)


def _labels(spec: dict) -> dict[str, str]:
    labels = {spec.get("id", ""): spec.get("name", spec.get("id", ""))}
    for node in [*spec.get("aggregate", []), *spec.get("indicator", [])]:
        labels[node["id"]] = node.get("name", node["id"])
    return labels


# --- formats ---------------------------------------------------------------------------------

NODE_COLUMNS = (report.COLUMNS[0], "label", *report.COLUMNS[1:])
TABLE_COLUMNS = ("label", "node_kind", "value", "normalised", "rank", "compared", "percentile",
                 "peer_median", "gap_to_median", "change")


def _nodes(comparison: Comparison) -> list[dict]:
    """The card's rows (NODE_COLUMNS), each with its node's label."""
    labels = comparison.labels
    return [{"node_id": row["node_id"], "label": labels.get(row["node_id"], row["node_id"])}
            | row for row in comparison.card.nodes]


def as_csv(comparison: Comparison) -> str:
    return spreadsheet_csv.to_csv(_nodes(comparison), columns=NODE_COLUMNS).rstrip("\n")


def as_json(comparison: Comparison) -> str:
    card, group = comparison.card, comparison.group
    document = {
        "city": comparison.city,
        "framework": comparison.framework,
        "peers": {"rule": group.rule, "description": group.description,
                  "parameters": group.parameters, "applies": group.applies,
                  "reason": group.reason, "cities": _records(group.peers)},
        "rank_interval": card.rank_interval,
        "nodes": _records(_nodes(comparison)),
        "strengths": [row["node_id"] for row in card.strengths],
        "weaknesses": [row["node_id"] for row in card.weaknesses],
        "learn_from": _records(comparison.learn_from),
        "also_named": _records(comparison.also_named),
        "notes": [*comparison.notes, *card.notes],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=_plain)


def _records(rows: list[dict]) -> list[dict]:
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def _plain(value):
    if isinstance(value, (list, tuple, dict)):
        return value
    if missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def fixed_width(rows: list[dict], columns: tuple[str, ...]) -> str:
    """`rows` as a text table, as pandas' to_string(index=False) lays it out: each column
    right-aligned to its widest cell or name, one space apart, a column of numbers (no text
    in it) named with a space in front; numbers to 3 significant digits, a missing value
    empty."""
    header = [column if any(isinstance(row.get(column), str) for row in rows)
              else f" {column}" for column in columns]
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(name), *(len(line[at]) for line in cells)])
              for at, name in enumerate(header)]
    return "\n".join(" ".join(cell.rjust(width) for cell, width in zip(line, widths,
                                                                         strict=True))
                     for line in [header, *cells])


def _cell(value) -> str:
    if missing(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}"
    return str(value)


def as_table(comparison: Comparison) -> str:
    city, card, group = comparison.city, comparison.card, comparison.group
    population = ("" if missing(city["population"])
                  else f" · {int(city['population']):,} people")
    lines = [f"{city['name']}, {city['country']} ({city['country_iso2']}) · {city['city_id']}"
             f"{population}",
             f"framework: {comparison.framework}"
             + ("" if card.rank_interval is None else
                " · rank interval among all cities scored: {} to {}".format(*card.rank_interval)),
             f"peers: {group.rule} {json.dumps(group.parameters)} · {len(group.peers)} cities"]
    if not group.applies:
        lines.append(f"  the rule does not apply: {group.reason}")
    lines += [f"  {row['name']} ({row['city_id']}): {row['evidence']}"
              for row in group.peers[:15]]
    if len(group.peers) > 15:
        lines.append(f"  ... and {len(group.peers) - 15} more (--format json lists them all)")
    nodes = _nodes(comparison)
    lines += ["", fixed_width(nodes, TABLE_COLUMNS) if nodes
              else f"no score of {city['name']} in {comparison.framework}'s run"]
    for title, picked in (("strengths among the peers", card.strengths),
                          ("weaknesses among the peers", card.weaknesses)):
        names = [comparison.labels.get(row["node_id"], row["node_id"]) for row in picked]
        lines.append(f"{title}: {', '.join(names) or 'none'}")
    lines += ["", "learn from:" if comparison.learn_from else
              "learn from: no similar city is clearly ahead on any dimension"]
    lines += [f"  {comparison.labels.get(row['node_id'], row['node_id'])}: {row['name']} "
              f"({row['city_id']}): {row['evidence']}" for row in comparison.learn_from]
    if comparison.also_named:
        lines.append("also named so: " + "; ".join(
            line.strip() for line in candidate_lines(comparison.also_named)))
    lines += [f"note: {note}" for note in (*comparison.notes, *card.notes)]
    return "\n".join(lines)


FORMATTERS = {"table": as_table, "csv": as_csv, "json": as_json}
