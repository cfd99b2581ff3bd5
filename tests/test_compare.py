"""`citybench compare CITY`: the real command on the published offline default (ambiguous
names refused with their candidates, the card as JSON and CSV checked against the score
table, peers by rule, by saved list and inline; no pandas nor Prefect imported), and the
learn-from rule (indicators.peers.learn) on columns made by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from indicators.peers.groups import PeerGroup
from indicators.peers.learn import learn_from
from tests.conftest import ROOT, citybench, query
from warehouse import lookup
from warehouse.connect import open_read_write

LYON, MARSEILLE, PARIS, VALENCIA_ES = "gn:2996944", "gn:2995469", "gn:2988507", "gn:2509954"
LATEST = """(SELECT score_run_id FROM score_run WHERE framework_id = ?
             ORDER BY created_at DESC, score_run_id DESC LIMIT 1)"""


def _env(**extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    return env | extra


def compare(db, *args: str, cwd=ROOT, **env: str) -> subprocess.CompletedProcess:
    return citybench("compare", *args, "--db", str(db), env=_env(**env), cwd=cwd, timeout=120)


def test_an_ambiguous_name_exits_1_listing_the_candidates(published):
    result = compare(published, "Valencia")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("citybench compare: 'Valencia' could be")
    spain = next(line for line in lines if "Valencia, Spain (ES)" in line)
    venezuela = next(line for line in lines if "Valencia, Venezuela (VE)" in line)
    for line, city_id in ((spain, VALENCIA_ES), (venezuela, "gn:3625549")):
        (population,) = query(published, "SELECT population FROM city WHERE city_id = ?",
                              [city_id])[0]
        assert city_id in line and f"{population:,} people" in line


@pytest.mark.parametrize(("text", "says"), [
    ("Qqqxzv", "no city named 'Qqqxzv'"),
    ("gn:1", "gn:1 is not in the city registry"),
])
def test_an_unknown_city_exits_1_with_one_line(published, text, says):
    result = compare(published, text)
    assert result.returncode == 1 and says in result.stderr.splitlines()[0]


def test_the_card_as_json_agrees_with_the_score_table(published):
    result = compare(published, "Valencia, ES", "--format", "json")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["city"]["city_id"] == VALENCIA_ES
    assert card["peers"]["rule"] == "nearest-profile" and len(card["peers"]["cities"]) == 10
    peers = [peer["city_id"] for peer in card["peers"]["cities"]]
    rows = query(published, f"""
        SELECT node_id, normalised, city_id FROM score
        WHERE score_run_id = {LATEST} AND list_contains(?, city_id)""",
                 ["world_connectivity", [VALENCIA_ES, *peers]])
    scores = pd.DataFrame(rows, columns=["node_id", "normalised", "city_id"])
    nodes = {node["node_id"]: node for node in card["nodes"]}
    assert set(nodes) == set(scores.loc[scores["city_id"] == VALENCIA_ES, "node_id"])
    for node_id, node in nodes.items():
        here = scores[scores["node_id"] == node_id].dropna(subset=["normalised"])
        mine = here.loc[here["city_id"] == VALENCIA_ES, "normalised"].iloc[0]
        theirs = here.loc[here["city_id"] != VALENCIA_ES, "normalised"]
        assert node["rank"] == 1 + int((theirs > mine).sum()), node_id
        assert node["compared"] == 1 + len(theirs)
        assert node["peer_median"] == pytest.approx(theirs.median())
    (low, high), = query(published, f"""SELECT rank_low, rank_high FROM score
        WHERE score_run_id = {LATEST} AND city_id = ? AND node_kind = 'index'""",
                         ["world_connectivity", VALENCIA_ES])
    assert card["rank_interval"] == [low, high]
    for suggestion in card["learn_from"]:  # every suggestion is ahead of Valencia
        node = nodes[suggestion["node_id"]]
        assert suggestion["normalised"] > node["normalised"]


def test_peers_by_rule_as_csv(published):
    result = compare(published, "Lyon", "--peers", "same-country", "--framework",
                     "european_cities", "--format", "csv")
    assert result.returncode == 0, result.stderr
    nodes = pd.read_csv(StringIO(result.stdout))
    index = nodes[nodes["node_kind"] == "index"].iloc[0]
    (scored,) = query(published, f"""
        SELECT count(*) FROM score s JOIN city c USING (city_id)
        WHERE score_run_id = {LATEST} AND node_kind = 'index' AND c.country_iso2 = 'FR'
          AND normalised IS NOT NULL""", ["european_cities"])[0]
    assert index["compared"] == scored and index["label"]


def test_peers_from_a_saved_list_and_inline(published, tmp_path):
    (tmp_path / "citybench.toml").write_text(
        '[peers.lists]\nsouth = ["Marseille, FR", "gn:2988507"]\n', encoding="utf-8")
    result = compare(published, "Lyon", "--peers", "south", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert [p["city_id"] for p in card["peers"]["cities"]] == [MARSEILLE, PARIS]
    assert card["peers"]["parameters"]["label"] == "south"
    inline = compare(published, "Lyon", "--peers", "Marseille, FR; gn:2988507", "--format",
                     "json")
    assert [p["city_id"] for p in json.loads(inline.stdout)["peers"]["cities"]] == [
        MARSEILLE, PARIS]
    # an ambiguous entry of a list is refused, naming the list
    (tmp_path / "citybench.toml").write_text('[peers.lists]\nbad = ["Valencia"]\n',
                                             encoding="utf-8")
    result = compare(published, "Lyon", "--peers", "bad", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("citybench compare: [peers.lists] bad: 'Valencia' could be")


def test_a_bad_request_is_one_line(published, tmp_path):
    result = compare(published, "Lyon", "--framework", "nope")
    assert result.returncode == 1
    assert "no score run of framework 'nope'; there are: " in result.stderr
    assert "world_connectivity" in result.stderr
    result = compare(published, "Lyon", "--peers", "neighbours")
    assert result.returncode == 1 and "not a rule or a saved list" in result.stderr
    result = compare(published, "Lyon", "--k", "0")
    assert result.returncode == 1
    assert result.stderr == "citybench compare: --k 0: ask for at least one neighbour\n"
    (tmp_path / "citybench.toml").write_text('[peers]\nlist = ["x"]\n', encoding="utf-8")
    result = compare(published, "Lyon", cwd=tmp_path)
    assert result.returncode == 1 and "[peers] list: unknown key" in result.stderr


def test_a_city_outside_the_defaults_gets_the_next_ones_said_in_notes(published):
    """Leeds is no UN WUP agglomeration of its own: not in the headline's universe nor in the
    profile's; the card falls back to the first framework scoring it, and to size-class
    peers, and says both."""
    result = compare(published, "Leeds, GB", "--format", "json")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["framework"] == "european_cities" and card["peers"]["rule"] == "size-class"
    assert any("world_connectivity does not score" in note for note in card["notes"])
    assert any("peers by size class" in note for note in card["notes"])
    assert card["nodes"] and all(len(note) < 400 for note in card["notes"])
    # asked for by name, a framework that does not score the city is not replaced
    asked = json.loads(compare(published, "Leeds, GB", "--framework", "world_connectivity",
                               "--format", "json").stdout)
    assert asked["framework"] == "world_connectivity" and asked["nodes"] == []
    assert any("frameworks that do: european_cities" in note for note in asked["notes"])


def test_the_table_says_where_the_city_stands(published):
    result = compare(published, "Lyon, FR")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Lyon, France (FR) · gn:2996944")
    assert "peers: nearest-profile" in text and "strengths among the peers:" in text
    assert "World city connectivity" in text  # nodes by the framework's names


@pytest.mark.parametrize(("text", "code"), [("Lyon, FR", 0), ("Valencia", 1)])
def test_compare_imports_neither_pandas_nor_prefect(published, text, code):
    """Its answer in well under a second: pandas' import alone was a third of it, and
    without a config file the config's model (pydantic) is not needed either."""
    program = ("import sys\nfrom app.cli import main\ntry:\n"
               f"    code = main(['compare', {text!r}, '--db', {str(published)!r}, "
               "'--format', 'json'])\nexcept SystemExit as exit:\n    code = exit.code\n"
               "print(code, [m for m in ('pandas', 'prefect', 'pydantic') if m in sys.modules], "
               "file=sys.stderr)")
    result = subprocess.run([sys.executable, "-P", "-c", program], capture_output=True,
                            text=True, env=_env(), cwd=ROOT, timeout=120)
    assert result.stderr.splitlines()[-1] == f"{code} []", result.stderr
    assert ("could be" in result.stderr) == (code == 1)


# --- whom to learn from, on frames made by hand -----------------------------------------------


def _group(peers: list[str], distance: list[float] | None = None) -> PeerGroup:
    rows = [{"city_id": p, "name": p.upper(), "evidence": "test"} for p in peers]
    for row, away in zip(rows, distance or [], strict=False):
        row["distance"] = away
    return PeerGroup("nearest-profile", "test", {}, "me", rows)


def _scores(table: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    rows = [(city, node, score) for city, nodes in table.items() for node, score in nodes.items()]
    return {"city_id": np.array([r[0] for r in rows], dtype=object),
            "node_id": np.array([r[1] for r in rows], dtype=object),
            "node_kind": np.array(["dimension"] * len(rows), dtype=object),
            "normalised": np.array([r[2] for r in rows]),
            "value": np.array([r[2] for r in rows]),
            "percentile": np.array([100 * r[2] for r in rows])}


def test_learn_from_those_clearly_ahead_tied_ones_first():
    # on "air" the scores of me and its peers: 0.5, 0.9, 0.8, 0.52, 0.1 (sd 0.27): a and b
    # are ahead by more than half a standard deviation, c by a hair only
    scores = _scores({"me": {"air": 0.5, "green": 0.9}, "a": {"air": 0.9, "green": 0.1},
                      "b": {"air": 0.8, "green": 0.2}, "c": {"air": 0.52, "green": 0.3},
                      "d": {"air": 0.1, "green": 0.4}})
    ties = [{"peer_id": "b", "kind": "city-network", "via": "Eurocities"}]
    found = learn_from(scores, _group(["a", "b", "c", "d"], [0.1, 0.2, 0.3, 0.4]), ties)
    here = pd.Series([0.5, 0.9, 0.8, 0.52, 0.1])
    threshold = 0.5 + 0.5 * here.std(ddof=0)
    assert {row["city_id"] for row in found} == {"a", "b"} and 0.52 < threshold < 0.8
    # b shares a network: first, although a is nearer and further ahead
    assert [row["city_id"] for row in found] == ["b", "a"]
    assert found[0]["shared"] == ["network: Eurocities"]
    assert "Eurocities" in found[0]["evidence"]
    assert found[1]["distance"] == 0.1 and found[1]["ahead_by"] == pytest.approx(0.4)
    assert all(row["node_id"] == "air" for row in found)  # no one is ahead on green


def test_learn_from_carries_practices_failures_included():
    scores = _scores({"me": {"air": 0.2}, "a": {"air": 0.9}, "b": {"air": 0.8}})
    practices = [
        {"city_id": "b", "title": "Congestion charge", "year": 2019, "dimension": "air",
         "indicators": [], "outcome": "failed", "lesson": "lost the referendum",
         "source_url": "https://example.org/b", "licence": "link only"},
        {"city_id": "a", "title": "Tree plan", "year": 2020, "dimension": "green",
         "indicators": [], "outcome": "worked", "lesson": "x",
         "source_url": "https://example.org/a", "licence": "link only"}]
    found = learn_from(scores, _group(["a", "b"], [0.1, 0.2]), None, practices)
    # b's practice addresses air (a failure, and no less evidence for that): b comes first
    assert [row["city_id"] for row in found] == ["b", "a"]
    (practice,) = found[0]["practices"]
    assert practice["outcome"] == "failed" and practice["addresses"]
    assert "Congestion charge (failed)" in found[0]["evidence"]
    # a's practice is on another dimension: carried, not counted as on air
    assert [p["addresses"] for p in found[1]["practices"]] == [False]


def test_no_one_to_learn_from_when_no_one_is_ahead_or_all_are_level():
    level = _scores({"me": {"air": 0.5}, "a": {"air": 0.5}, "b": {"air": 0.5}})
    assert learn_from(level, _group(["a", "b"])) == []
    best = _scores({"me": {"air": 0.9}, "a": {"air": 0.5}, "b": {"air": 0.1}})
    assert learn_from(best, _group(["a", "b"])) == []


def test_a_warehouse_published_before_the_search_index_is_one_line(registry_copy):
    con = open_read_write(registry_copy)
    try:
        con.execute("DROP TABLE city_name_search")  # as a version before migration 009 left it
    finally:
        con.close()
    result = compare(registry_copy, "Lyon, FR")
    assert (result.returncode, result.stderr) == (1, (
        "citybench compare: this warehouse predates the city search's index: run "
        "`citybench refresh`\n"))


def test_a_warehouse_without_scores_is_one_line(registry_copy):
    con = open_read_write(registry_copy)  # the registry, searchable, and nothing scored
    try:
        lookup.index_names(con)
    finally:
        con.close()
    result = compare(registry_copy, "Lyon, FR")
    assert result.returncode == 1
    assert result.stderr == ("citybench compare: the warehouse holds no score run: run "
                             "`citybench refresh` first\n")
