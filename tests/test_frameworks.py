"""The packaged frameworks (flows/frameworks/): stated weights and directions, the refresh
scoring each one, the headline's acceptance on the offline default (the starter snapshot),
what a run records when sources are missing, and the check against GaWC 2020."""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from benchmarks import gawc
from flows.scoring import HEADLINE, packaged, score_all
from indicators.composite.spec import SpecError, load_framework, load_method
from indicators.growth import annual_growth
from tests.conftest import ROOT, citybench, copy_of, query
from warehouse.connect import open_read_write
from warehouse.migrate import migrate

FOLDER = resources.files("flows.frameworks")
# Reported in the README ("Checked against GaWC 2020"), measured on the offline default by
# `python -m benchmarks gawc`; a later change may not lower them by more than the margins.
GAWC_RHO, GAWC_OVERLAP = 0.779, 10
RHO_MARGIN, OVERLAP_MARGIN = 0.03, 2
MICROSTATES = {"VA", "MC", "SM", "LI", "AD", "PN", "GI", "SJ", "NR", "TV", "FK", "SH", "BM"}
needs_gawc = pytest.mark.skipif(not gawc.GNC2020.is_file(),
                                reason=f"{gawc.GNC2020} absent (../shared/opendata)")


def _text(name: str) -> str:
    return (FOLDER / name).read_text(encoding="utf-8")


def _current_run(db, framework: str) -> tuple[str, int, str]:
    return query(db, "SELECT score_run_id, cities, notes FROM score_run WHERE framework_id = ? "
                     "ORDER BY created_at DESC LIMIT 1", (framework,))[0]


def _index(db, framework: str) -> pd.DataFrame:
    run_id = _current_run(db, framework)[0]
    rows = query(db, """
        SELECT s.rank, c.city_id, c.name, c.country_iso2, c.population
        FROM score s JOIN city c USING (city_id)
        WHERE s.score_run_id = ? AND s.node_id = ? AND s.rank IS NOT NULL ORDER BY s.rank
    """, (run_id, framework))
    return pd.DataFrame(rows, columns=["rank", "city_id", "name", "country", "population"])


# --- the files -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", packaged())
def test_every_weight_and_direction_is_stated_with_its_reason(name):
    """Each dimension's and indicator's weight, and each indicator's direction, is written in
    the framework file (not left to a default) with a comment saying why; the method states
    its min-availability rule; a methodology text lies beside them."""
    framework_text = _text(f"{name}.toml")
    framework = load_framework(framework_text, f"{name}.toml")
    method = load_method(_text(f"{name}.method.toml"), f"{name}.method.toml")
    raw = tomllib.loads(framework_text)
    if name != "prominence":  # the first framework predates the rule; it keeps its weights
        blocks = re.split(r"\n(?=\[\[(?:indicator|aggregate)\]\])", framework_text)[1:]
        assert len(blocks) == len(raw.get("indicator", [])) + len(raw.get("aggregate", []))
        for block in blocks:
            node = re.search(r'^id = "([^"]+)"', block, re.M).group(1)
            assert re.search(r"^weight = [0-9.]+ +# \S", block, re.M), node
            if block.startswith("[[indicator]]"):
                assert re.search(r"^direction = -?1\b", block, re.M), node
        assert "min_availability" in method.step("aggregate")
        methodology = _text(f"{name}.methodology.md")
        for part in ("What it measures", "Indicators", "Normalisation and aggregation",
                     "What it does not capture", "Min-availability"):
            assert part.lower() in methodology.lower(), (name, part)
    assert set(framework.refresh.get("optional", [])) <= set(framework.indicators)


def test_packaged_frameworks_put_the_headline_first():
    names = packaged()
    assert names[0] == HEADLINE and {"prominence", "european_cities"} <= set(names)


def test_leaving_out_indicators_drops_their_empty_dimensions():
    framework = load_framework(_text(f"{HEADLINE}.toml"))
    pruned = framework.without(["firm_gnc_share", "network_memberships", "network_partners"])
    assert "firms" not in pruned.nodes and "networks" not in pruned.nodes
    assert {"air", "twinning", "demography"} <= set(pruned.nodes)
    assert pruned.nodes["air"].weight == 2 and pruned.refresh == framework.refresh
    with pytest.raises(SpecError, match="no indicator left"):
        framework.without(framework.indicators)


def test_annual_growth_is_compound_and_in_percent():
    start = pd.Series({"a": 100.0, "b": 200.0, "c": 0.0})
    end = pd.Series({"a": 121.0, "b": 200.0, "d": 5.0})
    growth = annual_growth(start, end, 2)
    assert growth["a"] == pytest.approx(10.0) and growth["b"] == 0.0
    assert np.isnan(growth["c"]) and np.isnan(growth["d"])  # no start, or not above 0


# --- the refresh -----------------------------------------------------------------------------

def test_the_offline_default_scores_every_framework_once(published):
    """One run per packaged framework; each run keeps its methodology and notes; the headline
    says which optional dimensions it left out and why."""
    runs = dict(query(published, "SELECT framework_id, count(*) FROM score_run GROUP BY ALL"))
    assert runs == dict.fromkeys(packaged(), 1)
    run_id, cities, notes = _current_run(published, HEADLINE)
    assert cities > 1000
    methodology = query(published, "SELECT methodology FROM score_run WHERE score_run_id = ?",
                        (run_id,))[0][0]
    assert methodology == _text(f"{HEADLINE}.methodology.md")
    assert notes.startswith("universe: ") and "with agglomeration_population from un-wup" in notes
    # no service-value matrix is openly licensed: firm connectivity is left out, and said so
    assert "left out (optional): firm_gnc_share: no value in the warehouse" in notes
    assert re.search(r"^ranked: ", notes, re.M)
    nodes = {row[0] for row in query(published, "SELECT DISTINCT node_id FROM score "
                                                "WHERE score_run_id = ?", (run_id,))}
    assert "firms" not in nodes and "firm_gnc_share" not in nodes
    assert {"air", "twinning", "demography", "agglomeration_growth"} <= nodes


def test_headline_top_20_are_world_cities_of_300000_or_more(published):
    """The acceptance test on the starter data: no town, microstate or territory capital in
    the top 20; London, New York, Paris and Tokyo in the top 25."""
    ranking = _index(published, HEADLINE)
    top = ranking.head(20)
    wup = dict(query(published, """
        SELECT city_id, value FROM observation
        WHERE indicator_id = 'agglomeration_population' AND source_id = 'un-wup'
          AND period = 2020""", ()))
    assert all(wup[c] >= 300_000 for c in top["city_id"]), top
    assert (top["population"] >= 300_000).all(), top
    assert not set(top["country"]) & MICROSTATES
    top_25 = set(zip(ranking.head(25)["name"], ranking.head(25)["country"], strict=True))
    for city in [("London", "GB"), ("New York City", "US"), ("Paris", "FR"), ("Tokyo", "JP")]:
        assert city in top_25, (city, ranking.head(30))


def test_the_european_framework_ranks_the_cities_eurostat_covers(published):
    run_id, cities, notes = _current_run(published, "european_cities")
    covered = query(published, "SELECT count(DISTINCT city_id) FROM observation "
                               "WHERE indicator_id = 'eurostat_de1001v'")[0][0]
    assert cities == covered > 500
    ranking = _index(published, "european_cities")
    assert len(ranking) == cities and ranking["rank"].min() == 1
    countries = query(published, "SELECT DISTINCT k.continent FROM city c JOIN country k "
                                 "ON k.iso2 = c.country_iso2 WHERE c.city_id IN (SELECT "
                                 "city_id FROM score WHERE score_run_id = ?)", (run_id,))
    assert {c for (c,) in countries} <= {"EU", "AS"}  # Europe, and Turkey's Asian cities
    # only population is in every extract: every other indicator either entered the run or
    # is named in its notes as left out, with the reason
    entered = {n for (n,) in query(published, "SELECT DISTINCT node_id FROM score "
                                              "WHERE score_run_id = ?", (run_id,))}
    framework = load_framework(_text("european_cities.toml"))
    for indicator in framework.refresh["optional"]:
        assert (indicator in entered) != (f"left out (optional): {indicator}: " in notes)


def test_an_unchanged_warehouse_reuses_every_run(published, tmp_path):
    db = copy_of(published, tmp_path)
    con = open_read_write(db)
    try:
        outcomes = score_all(con)
    finally:
        con.close()
    assert [o.framework_id for o in outcomes] == packaged()
    assert all(o.reused for o in outcomes)


def test_a_framework_whose_sources_are_missing_is_recorded_not_scored(registry_copy):
    """GeoNames alone: the headline has no universe (no WUP) and no air or twinning; its run
    is recorded with no scores and a note saying why, and prominence still scores."""
    con = open_read_write(registry_copy)
    try:
        migrate(con)
        outcomes = {o.framework_id: o for o in score_all(con)}
    finally:
        con.close()
    world = outcomes[HEADLINE]
    assert world.cities == 0 and not world.reused
    assert any(n.startswith("not scored: no value of air_destinations") for n in world.notes)
    assert "universe: 0 cities with agglomeration_population from un-wup" in world.notes
    assert query(registry_copy, "SELECT count(*) FROM score WHERE score_run_id = ?",
                 (world.score_run_id,)) == [(0,)]
    assert outcomes["prominence"].cities > 20_000


def test_rankings_page_opens_on_the_headline_with_its_methodology(published, monkeypatch):
    monkeypatch.setenv("CITYBENCH_DB", str(published))
    at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="framework").value == HEADLINE
    assert set(at.selectbox(key="framework").options) >= {
        "World connectivity index (headline)", "Prominence index"}
    methodology = next(e for e in at.expander if e.label.startswith("How this index is made"))
    shown = "\n".join(m.value for m in methodology.markdown)
    assert "World city connectivity: methodology" in shown
    assert "left out (optional): firm_gnc_share" in shown
    top = _index(published, HEADLINE).iloc[0]["name"]
    assert at.dataframe[0].value.iloc[0]["name"] == top
    at.selectbox(key="framework").set_value("prominence").run()
    title = json.loads(at.get("vega_lite_chart")[0].proto.spec)["title"]["text"]
    assert "by prominence index" in " ".join(title)  # the title's lines


# --- the check against GaWC 2020 -------------------------------------------------------------

@needs_gawc
def test_the_headline_stays_as_close_to_gawc_2020_as_reported(published):
    result = gawc.compare(published)
    assert result.resolved > 650  # of 707: the matcher finds GaWC's cities
    assert len(result.common) > 550
    assert result.rho >= GAWC_RHO - RHO_MARGIN, result.rho
    assert result.overlap >= GAWC_OVERLAP - OVERLAP_MARGIN, result.top_index
    lines = gawc.report(result)
    assert lines[1].startswith("Spearman's rank correlation") and len(lines) == 5 + 20 + 1


# --- `citybench score` on a file -------------------------------------------------------------

def test_score_command_writes_the_methodology_and_leaves_out_absent_optional_indicators(
        tmp_path):
    """The packaged world framework on a file without the optional indicators: they are left
    out (said on stderr), the run is scored, and --steps writes the methodology beside the
    framework and method, hashed."""
    framework = ROOT / "flows" / "frameworks" / f"{HEADLINE}.toml"
    method = framework.with_name(f"{HEADLINE}.method.toml")
    required = [i for i in load_framework(framework.read_text()).indicators
                if i not in ("firm_gnc_share", "network_memberships", "network_partners")]
    rng = np.random.default_rng(7)
    data = pd.DataFrame(rng.uniform(1, 100, (40, len(required))), columns=required)
    data.insert(0, "unit", [f"city {k}" for k in range(40)])
    data["country"], data["continent"] = "XX", "EU"
    data.to_csv(tmp_path / "d.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    result = citybench("score", "--framework", str(framework), "--method", str(method),
                       "--data", str(tmp_path / "d.csv"), "--out", str(tmp_path / "o.csv"),
                       "--steps", str(tmp_path / "steps"), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert ("left out: network_memberships, network_partners, firm_gnc_share"
            in result.stderr)
    assert f"methodology -> {tmp_path / 'steps' / 'methodology.md'}" in result.stdout
    written = (tmp_path / "steps" / "methodology.md").read_text(encoding="utf-8")
    assert written == _text(f"{HEADLINE}.methodology.md")
    assert "methodology.md" in json.loads((tmp_path / "steps" / "run.json").read_text())["sha256"]
    scores = pd.read_csv(tmp_path / "o.csv")
    assert scores["score"].notna().sum() == 40 and "firms" not in scores.columns
