"""Any service-value matrix through the `gawc` source: a world matrix in GaWC's 2000 layout
(upper-case names, no Country column, a Sector row, qualifiers such as "SAN JOSE (CR)"),
listed in citybench.toml, loads under its own dataset and year, resolved worldwide; its
connectivities are network measures of their own; and it enters the headline's firm dimension.

No world matrix is openly licensed, so the test writes one: the 315 best-connected city names of
GaWC 2020 (read in place from ../shared), upper-cased, with service values drawn here (a seeded
generator). The names are real and nobody tuned the matcher to them in this layout; the values
are invented and never leave the test's folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.sources.gawc import Gawc, GawcSettings, qualified_name
from flows.transport import FetchFailed, MirrorTransport
from tests.conftest import SHARED, copy_of, query, refresh
from warehouse import config
from warehouse.measures import SOURCE_ID

GNC2020 = SHARED / "opendata" / "gawc" / "gnc-2020" / "da31_gnc2020.xlsx"
needs_gnc2020 = pytest.mark.skipif(not GNC2020.is_file(), reason="../shared/opendata is absent")
CITIES, FIRMS, YEAR, DATASET = 315, 100, 2000, "gawc-world-2000"
LONDON, NEW_YORK, TOKYO, SAN_JOSE_CR = "gn:2643743", "gn:5128581", "gn:1850147", "gn:3621849"


def _world_matrix(folder) -> pd.DataFrame:
    """The matrix written to folder/world.csv, as written (cities x firms)."""
    gawc = pd.read_excel(GNC2020, engine="calamine").sort_values("Rank").head(CITIES)
    names = gawc["City"].str.upper().str.replace(r"\s*\(", " (", regex=True)
    rng = np.random.default_rng(2000)
    values = rng.integers(1, 6, size=(CITIES, FIRMS)) * (rng.random((CITIES, FIRMS)) < 0.4)
    values[:20] = np.maximum(values[:20], 2)  # the leading cities host every firm, as in GaWC
    firms = [f"FIRM {j:03d}" for j in range(FIRMS)]
    matrix = pd.DataFrame(values, index=pd.Index(names.to_numpy(), name="City"), columns=firms)
    sectors = pd.DataFrame([["Banking" if j % 2 else "Law" for j in range(FIRMS)]],
                           index=pd.Index(["Sector"], name="City"), columns=firms)
    pd.concat([sectors, matrix.astype(str)]).to_csv(folder / "world.csv")
    return matrix


def _settings(folder, text: str) -> GawcSettings:
    path = folder / "citybench.toml"
    path.write_text(text)
    return config.read(path, {"gawc": GawcSettings}).source("gawc", GawcSettings)


WORLD = f"""
[sources.gawc]
max_unresolved_share = 0.2
[[sources.gawc.matrices]]
id = "{DATASET}"
file = "world.csv"
year = {YEAR}
title = "A world matrix in GaWC's 2000 layout"
"""


@pytest.fixture(scope="module")
def loaded(published, tmp_path_factory):
    """The offline default's warehouse with the world matrix refreshed into it."""
    folder = tmp_path_factory.mktemp("world")
    matrix = _world_matrix(folder)
    db = copy_of(published, folder)
    summary = refresh(db, [Gawc(_settings(folder, WORLD))], MirrorTransport(folder / "none"))
    assert not summary.failed, [r.error for r in summary.failed]
    return db, matrix, summary


@needs_gnc2020
def test_the_matrix_loads_under_its_own_dataset_and_year(loaded):
    db, matrix, _ = loaded
    [(title, url)] = query(db, "SELECT title, url FROM dataset WHERE source_id = 'gawc' AND "
                               "dataset_id = ?", (DATASET,))
    assert title == "A world matrix in GaWC's 2000 layout" and url.startswith("file://")
    assert url.endswith("/world.csv")
    periods = query(db, "SELECT DISTINCT period FROM membership WHERE dataset_id = ?",
                    (DATASET,))
    assert periods == [(YEAR,)]
    sectors = dict(query(db, "SELECT name, sector FROM network WHERE source_id = 'gawc'"))
    assert sectors["FIRM 000"] == "Law" and sectors["FIRM 001"] == "Banking"
    # London's row, cell for cell, as memberships (its non-zero service values)
    london = dict(query(db, "SELECT n.name, m.value FROM membership m JOIN network n "
                            "USING (network_id) WHERE m.city_id = ? AND m.dataset_id = ?",
                        (LONDON, DATASET)))
    row = matrix.loc["LONDON"]
    assert london == {firm: float(v) for firm, v in row[row > 0].items()}


@needs_gnc2020
def test_names_without_countries_resolve_worldwide(loaded):
    db, matrix, _ = loaded
    resolved = dict(query(db, "SELECT alias, city_id FROM city_alias WHERE source_id = 'gawc'"))
    assert resolved["LONDON"] == LONDON and resolved["TOKYO"] == TOKYO
    assert resolved["NEW YORK (NEW YORK)"] == NEW_YORK
    assert resolved["SAN JOSE (CR)"] == SAN_JOSE_CR  # the qualifier names the country
    rows = query(db, "SELECT count(DISTINCT city_id) FROM membership WHERE dataset_id = ?",
                 (DATASET,))[0][0]
    assert rows >= 0.9 * len(matrix)  # worldwide, with no country given


def test_qualifiers_name_a_country_a_state_or_another_spelling():
    assert qualified_name("SAN JOSE (CR)") == ("SAN JOSE (CR)", "CR")
    assert qualified_name("Los Angeles(California)") == ("Los Angeles(California)", "California")
    assert qualified_name("Karaganda (or Qaraghandy)") == ("Karaganda (Qaraghandy)", None)
    assert qualified_name("PARIS") == ("PARIS", None)


@needs_gnc2020
def test_its_connectivities_are_measures_of_their_own(loaded):
    """GNC of London, computed here from the warehouse's memberships of this matrix: the sum
    over the other cities b and the firms j of v_London,j * v_b,j."""
    db, _, _ = loaded
    cells = pd.DataFrame(query(db, "SELECT city_id, network_id, value FROM membership "
                                   "WHERE dataset_id = ?", (DATASET,)),
                         columns=["city_id", "firm", "value"])
    wide = cells.pivot(index="city_id", columns="firm", values="value").fillna(0.0)
    others = wide.drop(index=LONDON).sum()
    expected = float((wide.loc[LONDON] * others).sum())
    measures = dict(query(db, "SELECT indicator_id, value FROM observation WHERE source_id = ? "
                              "AND city_id = ? AND dataset_id = ?",
                          (SOURCE_ID, LONDON, f"firms-gawc-{DATASET}")))
    assert measures["firm_gnc"] == pytest.approx(expected)
    top = max(float((wide.loc[c] * (wide.sum() - wide.loc[c])).sum()) for c in wide.index)
    assert measures["firm_gnc_share"] == pytest.approx(expected / top)


@needs_gnc2020
def test_it_enters_the_headlines_firm_dimension(loaded):
    db, _, _ = loaded
    [(run_id, notes)] = query(db, """
        SELECT score_run_id, notes FROM score_run WHERE framework_id = 'world_connectivity'
        ORDER BY created_at DESC LIMIT 1""")
    assert "left out (optional): firm_gnc_share" not in notes
    firms = query(db, "SELECT count(*) FROM score WHERE score_run_id = ? AND node_id = 'firms' "
                      "AND value IS NOT NULL", (run_id,))[0][0]
    ranked = query(db, "SELECT count(*) FROM score WHERE score_run_id = ? AND node_kind = "
                       "'index' AND rank IS NOT NULL", (run_id,))[0][0]
    assert firms == ranked > 1000  # cities the matrix does not list count 0


def test_a_bad_matrix_entry_is_one_line_naming_the_key(tmp_path):
    cases = {
        'id = "World 2000"': "matrices.0.id",
        'countries = ["gb"]': "matrices.0.countries.0",
        'year = "2000"': "matrices.0.year",
    }
    for line, key in cases.items():
        field = line.split(" = ")[0]
        entry = "\n".join(part for part in WORLD.splitlines()
                          if not part.startswith(f"{field} ="))
        with pytest.raises(config.ConfigError) as refused:
            _settings(tmp_path, entry + "\n" + line + "\n")
        assert key in str(refused.value) and "\n" not in str(refused.value)
    twice = WORLD + WORLD.split("[sources.gawc]\nmax_unresolved_share = 0.2\n")[1]
    with pytest.raises(config.ConfigError, match="listed twice"):
        _settings(tmp_path, twice)


def test_a_listed_file_that_is_not_there_fails_the_source_naming_it(tmp_path):
    source = Gawc(_settings(tmp_path, WORLD))
    with pytest.raises(FetchFailed, match=r"world\.csv: no such file \(listed in .*citybench"):
        source.extract(MirrorTransport(tmp_path / "none"))
