"""GaWC-style service-value matrices: the former-Soviet-Union study's real 2015 and 2018
files, read in place; every non-zero cell a membership or an unresolved city; damaged
variants refused with the cell named."""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
import pytest

from flows.sources.gawc import MATRICES, Gawc
from flows.sources.resolve import match_anywhere
from tests.conftest import query
from tests.source_fixtures import GAWC, needs_sample, sample_fixture
from warehouse.parse_error import ParseError
from warehouse.service_matrix import read_service_matrix

FSU = GAWC
pytestmark = needs_sample("gawc")
M2015, M2018 = MATRICES


def _bytes(matrix) -> bytes:
    return (FSU / matrix.file).read_bytes()


def _pandas_view(matrix) -> pd.DataFrame:
    """The matrix as pandas reads it, independently of our parser."""
    return pd.read_excel(io.BytesIO(_bytes(matrix)), sheet_name=matrix.sheet or 0,
                         engine="calamine", index_col=0)


run = sample_fixture("gawc")


@pytest.fixture(scope="module")
def parsed(run):
    return run.parsed


def test_every_cell_of_both_matrices_is_read(parsed):
    cells = parsed["service_values"]
    view15, view18 = _pandas_view(M2015), _pandas_view(M2018)
    # 2015 lists FTI Consulting twice with the same values (pandas renames the second
    # 'FTI Consulting.1'): read once.
    assert view15["FTI Consulting"].equals(view15["FTI Consulting.1"])
    firms15 = view15.drop(columns="FTI Consulting.1")
    assert (cells["dataset_id"] == "fsu-2015").sum() == firms15.size == 61 * 95
    assert (cells["dataset_id"] == "fsu-2018").sum() == view18.size == 102 * 94
    for matrix, view in ((M2015, firms15), (M2018, view18)):
        mine = cells[(cells["dataset_id"] == matrix.dataset_id) & (cells["value"] > 0)]
        assert len(mine) == int((view > 0).sum().sum())
        assert mine["value"].sum() == view.to_numpy().sum()
        assert set(mine["period"]) == {matrix.period}
    assert len(Gawc.raw_models["service_values"].validate(cells, lazy=True)) == len(cells)


def test_known_cells_read_back(parsed):
    cells = parsed["service_values"].set_index(["dataset_id", "city", "firm"])["value"]
    assert cells["fsu-2018", "Almaty", "KPMG"] == 2
    assert cells["fsu-2018", "Almaty", "Deloitte"] == 4
    assert cells["fsu-2018", "Moscow", "IBM"] == 5
    assert cells["fsu-2015", "Almaty", "LEA Global"] == 4
    assert cells["fsu-2015", "Moscow", "Baker & McKenzie"] == 5
    # the 2018 column with values and no firm name is kept under its column letter
    unnamed = cells.xs(("fsu-2018", "unnamed firm (column CF)"), level=("dataset_id", "firm"))
    assert unnamed.gt(0).sum() == 3
    assert any("no firm name" in note for note in parsed["notes"]["note"])


def test_matrices_reproduce_the_authors_connectivities(parsed):
    """Global network connectivity of a city: sum over the other cities b and the firms j of
    v_aj * v_bj. The authors' figures (OutPut sheet, 'TOTAL 2015') come out exactly."""
    cells = parsed["service_values"]
    for dataset_id, expected in (("fsu-2018", {"Moscow": 5173, "Kiev": 3776}),
                                 ("fsu-2015", {"Moscow": 4359, "Almaty": 2737})):
        matrix = cells[cells["dataset_id"] == dataset_id].pivot(
            index="city", columns="firm", values="value")
        interlock = matrix @ matrix.T
        connectivity = interlock.sum(axis=1) - pd.Series(
            [interlock.loc[c, c] for c in interlock.index], index=interlock.index)
        for city, value in expected.items():
            assert connectivity[city] == value
    rowsum = pd.read_excel(FSU / M2018.file, sheet_name="OutPut", engine="calamine",
                           index_col=0)["RowSum"]
    m18 = cells[cells["dataset_id"] == "fsu-2018"].pivot(index="city", columns="firm",
                                                           values="value")
    interlock = m18 @ m18.T
    assert ((interlock.sum(axis=1) - pd.Series(
        [interlock.loc[c, c] for c in interlock.index], index=interlock.index)
    ).reindex(rowsum.index) == rowsum).all()


def test_every_nonzero_cell_is_a_membership_or_an_unresolved_city(parsed, run):
    result = run.conformed
    cells = parsed["service_values"]
    nonzero = cells[cells["value"] > 0]
    unresolved_rows = set(result.unresolved["key"])
    at = nonzero["dataset_id"] + " row " + nonzero["row"].astype(str)
    lost = at.isin(unresolved_rows)
    assert len(result.membership) + int(lost.sum()) == len(nonzero)
    for dataset_id, period in (("fsu-2015", 2015), ("fsu-2018", 2018)):
        members = result.membership[result.membership["dataset_id"] == dataset_id]
        assert set(members["period"]) == {period}
        assert len(members) == int(((nonzero["dataset_id"] == dataset_id) & ~lost).sum())
    assert result.membership["value"].between(1, 5).all()
    assert len(result.unresolved) <= 10  # of 163 matrix rows
    assert result.unresolved["reason"].str.len().gt(0).all()
    assert not result.membership.duplicated(["network_id", "city_id", "period"]).any()


def test_firms_become_networks(parsed, run):
    result = run.conformed
    names = set(parsed["service_values"]["firm"])
    assert len(result.network) == len(names) == 149
    assert set(result.network["network_id"]) == {f"gawc:{n}" for n in names}
    assert set(result.network["kind"]) == {"firm"}
    assert set(result.membership["network_id"]) <= set(result.network["network_id"])


def test_cities_resolve_by_name_within_the_region(run):
    result, registry = run.conformed, run.registry
    cities = registry.cities.set_index("city_id")
    alias = result.city_alias.set_index("alias")["city_id"]
    for published, name, country in (("Moscow", "Moscow", "RU"), ("Kiev", "Kyiv", "UA"),
                                     ("Almaty", "Almaty", "KZ"),
                                     ("Karaganda (or Qaraghandy)", "Karagandy", "KZ")):
        assert cities.loc[alias[published], ["name", "country_iso2"]].tolist() == [name,
                                                                                    country]
    kpmg = result.membership[(result.membership["network_id"] == "gawc:KPMG")
                             & (result.membership["city_id"] == alias["Almaty"])]
    assert kpmg.set_index("period")["value"].to_dict() == {2015: 3.0, 2018: 2.0}
    assert set(result.city_alias["scheme"]) == {"gawc"}


def test_upper_case_names_without_country_resolve_by_population(run):
    """GaWC writes 'NEW YORK' with no country: tried in every country, kept where one
    namesake is far the largest; a stated country decides."""
    registry = run.registry
    records = pd.DataFrame({"key": ["ny", "ldn", "syd", "ldn-ca"],
                            "name": ["NEW YORK", "LONDON", "SYDNEY", "LONDON"],
                            "country": [None, None, None, "CA"]})
    verdicts = match_anywhere(records, registry).set_index("key")
    cities = registry.cities.set_index("city_id")
    assert (verdicts["status"] == "matched").all()
    found = cities.loc[verdicts["city_id"], ["name", "country_iso2"]]
    assert found.to_numpy().tolist() == [["New York City", "US"], ["London", "GB"],
                                         ["Sydney", "AU"], ["London", "CA"]]
    assert verdicts.loc["ldn", "reason"].startswith("most populous of namesakes in")


# --- damaged files ------------------------------------------------------------------------


def _with_cell(content: bytes, ref: str, cell_xml: str) -> bytes:
    """The workbook with one cell of its first sheet replaced (the XML edited in memory)."""
    source, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, found = re.subn(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)'.encode(),
                                      cell_xml.encode(), data, count=1)
                assert found == 1
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("cell_xml", "found"),
    [('<c r="E4"><v>-1</v></c>', "'-1'"),
     ('<c r="E4"><v>6</v></c>', "'6'"),
     ('<c r="E4" t="inlineStr"><is><t>two</t></is></c>', "'two'"),
     ('<c r="E4"/>', "a blank cell")],
)
def test_a_bad_service_value_is_refused_naming_its_cell(cell_xml, found):
    damaged = _with_cell(_bytes(M2018), "E4", cell_xml)
    with pytest.raises(ParseError) as refused:
        read_service_matrix(damaged, M2018.file, M2018.sheet)
    message = str(refused.value)
    assert message.startswith(f"{M2018.file}, sheet 'InPut', cell E4 (Almaty, KPMG)")
    assert "service value 0-5" in message and found in message
    assert "\n" not in message


def test_a_duplicated_city_is_refused():
    a4 = re.search(rb'<c r="A4"[^>]*><v>(\d+)</v>',
                   zipfile.ZipFile(FSU / M2018.file).read("xl/worksheets/sheet1.xml"))
    damaged = _with_cell(_bytes(M2018), "A5", f'<c r="A5" t="s"><v>{a4.group(1).decode()}</v></c>')
    with pytest.raises(ParseError, match=r"cell A5: expected each city once \(also in "
                                         r"sheet 'InPut', cell A4\), found 'Almaty'"):
        read_service_matrix(damaged, M2018.file, M2018.sheet)


def _as_csv(matrix) -> list[str]:
    """The real matrix as CSV lines, made in memory: the same checks apply to CSV files."""
    return _pandas_view(matrix).to_csv(lineterminator="\n").splitlines()


@pytest.mark.parametrize(
    ("edit", "position", "expected"),
    [(lambda lines: [*lines[:3], lines[3].rsplit(",", 5)[0]], "line 4", "95 fields"),
     (lambda lines: [*lines[:3], lines[3].replace(",2,", ",-2,", 1), *lines[4:]], "line 4",
      "service value 0-5"),
     (lambda lines: [*lines[:3], lines[3].replace(",2,", ",x,", 1), *lines[4:]], "line 4",
      "service value 0-5"),
     (lambda lines: [*lines, lines[5]], "line 104, field 1", "each city once"),
     (lambda lines: [",".join(c if i != 3 else "" for i, c in enumerate(line.split(",")))
                     if n else line for n, line in enumerate(lines)], "line 1, field 4",
      "service values below the firm's name")],
    ids=["truncated line", "negative", "not a number", "duplicated city", "empty column"],
)
def test_a_damaged_csv_matrix_is_refused_with_its_position(edit, position, expected):
    lines = edit(_as_csv(M2018))
    with pytest.raises(ParseError) as refused:
        read_service_matrix("\n".join(lines).encode(), "matrix.csv")
    assert str(refused.value).startswith(f"matrix.csv, {position}")
    assert expected in str(refused.value)


def test_a_csv_matrix_with_country_column_and_sector_row_is_read():
    lines = ["City,Country,Firm A,Firm B", "Sector,,Law,Banking",
             "NEW YORK,US,5,0", "LONDON,GB,2,3"]
    read = read_service_matrix("\n".join(lines).encode(), "made-up.csv")
    assert read.values.loc["LONDON", "Firm B"] == 3
    assert read.country.to_dict() == {"NEW YORK": "US", "LONDON": "GB"}
    assert read.sector.to_dict() == {"Firm A": "Law", "Firm B": "Banking"}
    assert read.row_of.to_dict() == {"NEW YORK": 3, "LONDON": 4}


# --- loaded over HTTP ---------------------------------------------------------------------------


def test_the_load_over_http_holds_the_memberships(run):
    result = run.conformed
    held = query(run.db, "SELECT period, count(*) FROM membership "
                         "WHERE source_id = 'gawc' GROUP BY period ORDER BY period")
    assert held == [(p, int((result.membership["period"] == p).sum())) for p in (2015, 2018)]
    assert query(run.db, "SELECT count(*) FROM network WHERE source_id = 'gawc'") == [(149,)]
    reported = query(run.db, "SELECT count(*) FROM rejected WHERE source_id = 'gawc' "
                             "AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(result.unresolved)
    assert run.report.rows_loaded == len(result.membership)
