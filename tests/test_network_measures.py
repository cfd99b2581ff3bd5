"""The refresh's network measures (flows/steps.py measure_networks) on a warehouse refreshed
from the real files (OpenFlights, Wikipedia's twin towns, ClimActor, the FSU service-value
matrices) over the offline registry, each checked against a computation made here with plain
pandas and numpy on the warehouse's own links and memberships, or on the study's matrix."""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd
import pytest

from flows import steps
from flows.sources.catalog import SOURCES
from flows.transport import MirrorTransport
from indicators.network.measures import INDICATORS
from tests.conftest import copy_of, query, refresh
from tests.source_fixtures import GAWC, PUBLISHED_FILES, make_mirror, needs_sample
from warehouse.measures import SOURCE_ID
from warehouse.service_matrix import read_service_matrix

INPUTS = ("openflights", "twincities", "climactor", "gawc")
pytestmark = [needs_sample(name) for name in INPUTS]
LONDON, PARIS, ROME, MOSCOW = "gn:2643743", "gn:2988507", "gn:3169070", "gn:524901"


@pytest.fixture(scope="module")
def refreshed(registry, tmp_path_factory):
    """The registry's warehouse refreshed (plain pipeline) with the four relational sources
    read from a mirror of their real files; the summary of that refresh."""
    folder = tmp_path_factory.mktemp("measures")
    db = copy_of(registry, folder)
    files = {url: path for name in INPUTS for url, path in PUBLISHED_FILES[name].items()}
    transport = MirrorTransport(make_mirror(folder / "mirror", files))
    # the offline registry (cities of 15,000+) leaves many small places unresolved; what is
    # tested here is the measures of what loads, not the sources' unresolved limits
    sources = [SOURCES[name](SOURCES[name].Settings(max_unresolved_share=1.0))
               for name in INPUTS]
    summary = refresh(db, sources, transport)
    assert not summary.failed, [r.error for r in summary.failed]
    return db, summary


def _frame(db, sql: str, params=()) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def _measure(db, indicator_id: str, dataset_id: str | None = None) -> pd.Series:
    frame = _frame(db, "SELECT city_id, value FROM observation WHERE source_id = ? AND "
                       "indicator_id = ? AND (? IS NULL OR dataset_id = ?)",
                   [SOURCE_ID, indicator_id, dataset_id, dataset_id])
    return frame.set_index("city_id")["value"].sort_index()


def _both_ways(db, kind: str) -> pd.DataFrame:
    """Each link seen from both ends, pairs once (the strongest weight), with countries."""
    links = _frame(db, "SELECT city_a, city_b, weight FROM city_link WHERE kind = ?", [kind])
    links = links.groupby(["city_a", "city_b"], as_index=False)["weight"].max()
    ends = pd.concat([links.set_axis(["city", "partner", "weight"], axis=1),
                      links[["city_b", "city_a", "weight"]].set_axis(
                          ["city", "partner", "weight"], axis=1)])
    countries = _frame(db, "SELECT city_id, country_iso2 FROM city").set_index("city_id")
    return ends.assign(country=ends["city"].map(countries["country_iso2"]),
                       partner_country=ends["partner"].map(countries["country_iso2"]))


def test_the_refresh_stores_every_family_and_says_how_many(refreshed):
    db, summary = refreshed
    measured = summary.measures
    assert set(measured.by_family) == {"air", "twinning", "memberships", "firms"}
    (held,) = query(db, "SELECT count(*) FROM observation WHERE source_id = ?", [SOURCE_ID])[0]
    assert held == measured.values > 10_000
    assert any(line.strip().startswith(f"{SOURCE_ID}: {held:,} network measure values stored")
               for line in summary.lines())
    load = query(db, 'SELECT status, rows_loaded FROM "load" WHERE source_id = ?', [SOURCE_ID])
    assert load == [("success", held)]
    (published,) = query(db, "SELECT summary FROM publication ORDER BY version DESC LIMIT 1")[0]
    assert f"{held:,} network measure values stored" in published


def test_every_measure_has_indicator_metadata_and_provenance(refreshed):
    db, _ = refreshed
    stored = _frame(db, """
        SELECT DISTINCT o.indicator_id, i.unit, i.direction, i.description, d.title
        FROM observation o LEFT JOIN indicator i USING (indicator_id)
        LEFT JOIN dataset d ON d.source_id = o.source_id AND d.dataset_id = o.dataset_id
        WHERE o.source_id = ?""", [SOURCE_ID])
    assert set(stored["indicator_id"]) == set(INDICATORS["indicator_id"])
    assert stored[["unit", "description", "title"]].notna().all().all()
    assert set(stored["direction"]) == {1}
    assert stored.loc[stored["indicator_id"] == "air_routes", "description"].str.contains(
        "2014").all()
    ((publisher, licence, attribution),) = query(
        db, "SELECT publisher, licence, attribution FROM source WHERE source_id = ?", [SOURCE_ID])
    assert publisher.startswith("citybench, computed from")
    assert "ODbL 1.0 (what derives from openflights)" in licence
    assert "CC BY-SA 4.0" in licence and "non-commercial" in licence
    assert "OpenFlights" in attribution


def test_air_measures_equal_a_count_of_the_links(refreshed):
    db, _ = refreshed
    ends = _both_ways(db, "air-route")
    by_city = ends.groupby("city")
    assert _measure(db, "air_destinations").to_dict() == by_city["partner"].nunique().to_dict()
    assert _measure(db, "air_routes").to_dict() == by_city["weight"].sum().to_dict()
    assert _measure(db, "air_countries").to_dict() == by_city["partner_country"].nunique()\
        .to_dict()
    abroad = ends[ends["country"] != ends["partner_country"]].groupby("city")["weight"].sum()
    share = (abroad.reindex(by_city["weight"].sum().index, fill_value=0)
             / by_city["weight"].sum())
    assert _measure(db, "air_share_abroad").to_dict() == pytest.approx(share.to_dict())
    london = ends[ends["city"] == LONDON]
    assert _measure(db, "air_destinations")[LONDON] == london["partner"].nunique() > 200
    (period,) = query(db, "SELECT DISTINCT period FROM observation WHERE indicator_id = "
                          "'air_routes'")[0]
    assert period == 2014  # OpenFlights' last snapshot, as its links are dated


def test_twinning_counts_a_citys_own_twins(refreshed):
    """Paris had 216 twins through its folded districts; Wikipedia's list names one: Rome."""
    db, _ = refreshed
    ends = _both_ways(db, "twinning")
    assert _measure(db, "twin_partners").to_dict() == ends.groupby("city")["partner"]\
        .nunique().to_dict()
    assert _measure(db, "twin_partners")[PARIS] == 1
    assert set(ends.loc[ends["city"] == PARIS, "partner"]) == {ROME}


def test_memberships_count_each_network_once(refreshed):
    """London was 'in 19 city networks': one per ClimActor list and year."""
    db, _ = refreshed
    members = _frame(db, """
        SELECT n.name, m.city_id, m.period FROM membership m JOIN network n USING (network_id)
        WHERE n.kind = 'city-network'""")
    counted = members.groupby("city_id")["name"].nunique()
    assert _measure(db, "network_memberships").to_dict() == counted.to_dict()
    london = members[members["city_id"] == LONDON]
    assert len(london[["name", "period"]].drop_duplicates()) > counted[LONDON]
    assert counted[LONDON] <= 15
    # partners: the other cities listed in a network London is listed in
    mine = set(london["name"])
    partners = set(members.loc[members["name"].isin(mine), "city_id"]) - {LONDON}
    assert _measure(db, "network_partners")[LONDON] == len(partners)


def test_firm_connectivity_is_the_study_matrixs(refreshed):
    """GNC of the 2018 matrix, as Taylor's model gives it (tests/test_network_opendata.py
    checks it against the study's own output: Moscow 5,173 among the 102 cities): here on the
    matrix's rows whose city the registry holds, as stored."""
    db, _ = refreshed
    dataset = "firms-gawc-fsu-2018"
    stored = _measure(db, "firm_gnc", dataset)
    path = GAWC / "raw_data_2018.xlsx"
    matrix = read_service_matrix(path.read_bytes(), path.name, "InPut").values
    aliases = _frame(db, "SELECT alias, city_id FROM city_alias WHERE scheme = 'gawc'")
    city_of = aliases.set_index("alias")["city_id"]
    held = matrix[matrix.index.isin(city_of.index)]
    values = held.to_numpy(dtype=float)
    dyads = values @ values.T
    gnc = pd.Series(dyads.sum(axis=1) - np.diag(dyads), index=held.index.map(city_of))
    gnc = gnc.groupby(level=0).sum().sort_index()
    assert stored.to_dict() == gnc.to_dict()
    assert len(stored) == len(held) > 90
    if len(held) == len(matrix):
        assert stored[MOSCOW] == 5173
    else:
        assert stored[MOSCOW] < 5173
    (title,) = query(db, "SELECT title FROM dataset WHERE source_id = ? AND dataset_id = ?",
                     [SOURCE_ID, dataset])[0]
    assert f"among the {len(stored)} cities" in title and "fsu-2018" in title
    assert _measure(db, "firm_gnc_share", dataset)[MOSCOW] == 1.0
    assert _measure(db, "firm_tier", dataset)[MOSCOW] == 12  # Alpha++


def test_an_input_gone_takes_its_measures_with_it(refreshed, tmp_path):
    """No twinning links and no memberships held: their measures are absent, not 0, and
    their indicators and datasets go; the air measures stay."""
    db = copy_of(refreshed[0], tmp_path)
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM city_link WHERE kind = 'twinning'")
        con.execute("DELETE FROM membership")
        counts = steps.measure_networks(con, log=logging.getLogger("test"))
    finally:
        con.close()
    assert set(counts.by_family) == {"air"}
    families = {i.split("_")[0] for (i,) in query(
        db, "SELECT DISTINCT indicator_id FROM observation WHERE source_id = ?", [SOURCE_ID])}
    assert families == {"air"}
    assert query(db, "SELECT dataset_id FROM dataset WHERE source_id = ?", [SOURCE_ID]) == [
        ("air",)]
    assert query(db, "SELECT count(*) FROM indicator WHERE source_id = ? AND indicator_id "
                     "LIKE 'twin%'", [SOURCE_ID]) == [(0,)]


def test_no_links_or_memberships_no_measures(registry_copy):
    con = duckdb.connect(str(registry_copy))
    try:
        counts = steps.measure_networks(con, log=logging.getLogger("test"))
    finally:
        con.close()
    assert counts.load_id is None and counts.values == 0
    assert query(registry_copy, "SELECT count(*) FROM source WHERE source_id = ?",
                 [SOURCE_ID]) == [(0,)]
