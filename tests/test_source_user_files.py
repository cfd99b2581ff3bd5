"""Users' own files in the canonical long format: CSV, XLSX and Parquet written here, read
from disk relative to the config file and over HTTP, cities resolved or reported, new
indicators created, and broken files named with their position."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.sources.catalog import SOURCES, build, read_config
from flows.sources.user_files import UserFiles
from flows.transport import FetchFailed, HttpTransport
from flows.user_data import UserRows, read_user_file, read_user_path
from tests.conftest import ROOT, Offline, load, query
from tests.http_server import FileServer
from tests.source_fixtures import read_registry_file
from warehouse.parse_error import ParseError
from warehouse.validation import split_valid

HEADER = ["city", "country", "indicator", "period", "value", "unit", "source"]
ROWS = [  # written by this test; the figures are invented
    ["gn:2950159", None, "bike_lanes_km", 2022, 1012.5, "km", "Senate cycling report"],
    ["Paris", "FR", "bike_lanes_km", 2022, 1100, "km", None],
    ["Lagos", None, "bike_lanes_km", 2022, 3, "km", None],  # Nigeria or Portugal?
    ["Tokyo", None, "bike_lanes_km", 2022, None, "km", None],  # missing: left out
    ["Tokyo", None, "population", 2024, 14_000_000, "persons", None],
    ["Atlantis", "GR", "bike_lanes_km", 2022, 7, "km", None],
    ["gn:999999999", None, "bike_lanes_km", 2022, 7, "km", None],
    ["Berlin", "DE", "bike_lanes_km", 2022, 999, "km", None],  # gn:2950159 again
    ["Wien", "AT", "green_roofs_m2", 2023, 54_000, None, None],  # a new indicator, no unit
]


def write_csv(path, rows=ROWS):
    def cell(value):
        return "" if value is None else str(value)

    path.write_text("\n".join(",".join(map(cell, row)) for row in [HEADER, *rows]) + "\n")
    return path


def write_xlsx(path, rows=ROWS):
    import openpyxl

    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    book.save(path)
    return path


def write_parquet(path, rows=ROWS):
    columns = {name: [row[i] for row in rows] for i, name in enumerate(HEADER)}
    columns["value"] = [None if v is None else float(v) for v in columns["value"]]
    pq.write_table(pa.table(columns), path)
    return path


WRITERS = {".csv": write_csv, ".xlsx": write_xlsx, ".parquet": write_parquet}


@pytest.mark.parametrize("suffix", WRITERS)
def test_every_format_reads_the_same_rows(tmp_path, suffix):
    read = read_user_path(WRITERS[suffix](tmp_path / f"mine{suffix}"))
    checked = split_valid(read.rows, UserRows)
    assert checked.rejected.empty, checked.rejected["reason"].tolist()
    rows = checked.valid
    assert len(rows) == len(ROWS) - 1 and read.missing == 1
    berlin = rows[rows["city"] == "gn:2950159"].iloc[0]
    assert (berlin["indicator"], berlin["period"], berlin["value"]) == ("bike_lanes_km", 2022,
                                                                         1012.5)
    assert berlin["source"] == "Senate cycling report"
    assert rows["unit"].isna().sum() == 1


def _configured(tmp_path, *files) -> UserFiles:
    """The source as citybench.toml in tmp_path lists `files` (paths relative to it)."""
    config = tmp_path / "citybench.toml"
    config.write_text("[sources.user]\nfiles = [" + ", ".join(f'"{f}"' for f in files) + "]\n")
    return build("user", read_config(config))


@pytest.fixture(scope="module")
def cities(registry):
    """The registry's frames, which the files' cities resolve against."""
    return read_registry_file(registry)


def _load(source, registry):
    parsed = source.parse(source.extract(Offline()))
    frames = {name: split_valid(parsed[name], model).valid
              for name, model in source.raw_contracts().items()}
    return parsed, source.conform(frames, registry)


def test_cities_resolve_or_are_reported_and_values_read_back(tmp_path, cities):
    registry = cities
    write_csv((tmp_path / "data").mkdir() or tmp_path / "data" / "mine.csv")
    parsed, conformed = _load(_configured(tmp_path, "data/mine.csv"), registry)
    observation = conformed.observation.set_index(["city_id", "indicator_id", "period"])
    assert observation.loc[("gn:2950159", "bike_lanes_km", 2022), "value"] == 1012.5
    assert observation.loc[("gn:2950159", "bike_lanes_km", 2022), "dataset_id"] == (
        "data/mine.csv (Senate cycling report)")
    tokyo = registry.cities.query("name == 'Tokyo' and country_iso2 == 'JP'")["city_id"].iloc[0]
    assert observation.loc[(tokyo, "population", 2024), "value"] == 14_000_000
    unresolved = conformed.unresolved.set_index("name")
    assert unresolved.loc["Lagos", "status"] == "ambiguous"
    assert "NG, PT" in unresolved.loc["Lagos", "reason"]
    assert unresolved.loc["Atlantis", "status"] == "unmatched"
    assert unresolved.loc["gn:999999999", "status"] == "unmatched"
    assert unresolved.loc["Berlin", "status"] == "duplicate"
    assert "line 2" in unresolved.loc["Berlin", "reason"]
    # every row with a value is loaded or reported, once
    assert len(conformed.observation) + len(conformed.unresolved) == len(ROWS) - 1
    units = conformed.indicator.set_index("indicator_id")["unit"]
    assert units.to_dict() == {"bike_lanes_km": "km", "population": "persons",
                               "green_roofs_m2": "unspecified"}
    assert set(parsed["datasets"]["url"]) == {(tmp_path / "data" / "mine.csv").as_uri()}


def test_no_files_listed_loads_nothing(cities):
    parsed, conformed = _load(UserFiles(), cities)
    assert parsed["datasets"].empty and conformed.observation.empty


def test_a_listed_file_that_is_not_there_fails_the_source(tmp_path):
    with pytest.raises(FetchFailed, match=r"gone\.csv: no such file \(listed in .*citybench"):
        _configured(tmp_path, "gone.csv").extract(Offline())


def test_urls_come_through_the_transport(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    write_xlsx(served / "figures.xlsx")
    with FileServer(served) as server:
        url = f"{server.url}/files/figures.xlsx"
        source = UserFiles(UserFiles.Settings(files=[url]))
        http = HttpTransport(tmp_path / "cache")
        parsed = source.parse(source.extract(http))
        http.close()
    assert len(parsed["observations"]) == len(ROWS) - 1
    assert set(parsed["datasets"]["url"]) == {url}
    assert parsed["datasets"]["last_update"].notna().all()


def _problem(name, content):
    with pytest.raises(ParseError) as raised:
        read_user_file(name, content)
    return str(raised.value)


def _rejected(name, content):
    return split_valid(read_user_file(name, content).rows, UserRows, ["file", "position"]).rejected


def test_files_that_are_no_table_are_named_by_their_position(tmp_path):
    good = write_csv(tmp_path / "mine.csv").read_text()
    assert _problem("mine.csv", good.replace("value", "valeu", 1).encode()) == (
        "mine.csv, line 1: expected the columns city, indicator, period, value (and optionally "
        "unit, source, country), found 'missing value; unknown valeu'")
    assert _problem("mine.csv", b"").startswith("mine.csv, line 1: expected a header")
    # a BOM, as spreadsheet programs write, is no part of the first column's name
    assert read_user_file("mine.csv", b"\xef\xbb\xbf" + good.encode()).rows["city"].notna().all()


def test_bad_rows_are_rejected_with_line_column_and_what_was_expected(tmp_path):
    good = write_csv(tmp_path / "mine.csv").read_text()
    broken = (good.replace("1100", "11OO")  # line 3
              .replace(",2023,", ",23,")  # line 10
              .replace("Atlantis,GR", "Atlantis,Greece")  # line 7
              .replace("Lagos,", "gn:Lagos,"))  # line 4
    broken += "Rome,IT,bike_lanes_km,2022\n"  # line 11: 4 fields
    broken += "Berlin,DE,bike_lanes_km,2022,999,m,\n"  # line 12: a second value, another unit
    reasons = _rejected("mine.csv", broken.encode())["reason"].tolist()
    assert reasons == [
        "mine.csv line 3: value = '11OO': expected a number",
        "mine.csv line 4: city = 'gn:Lagos': expected a city's id of the form "
        "gn:<GeoNames id>, or its name",
        "mine.csv line 7: country = 'GREECE': expected a two-letter code such as DE",
        "mine.csv line 9: city, country, indicator, period = 'Berlin', 'DE', "
        "'bike_lanes_km', 2022: expected one row per file, city, country, indicator, period",
        "mine.csv line 10: period = 23: expected at least 1800",
        "mine.csv line 11: fields = 4: expected as many fields as the header has",
        "mine.csv line 11: value = (empty): expected a value, not an empty cell",
        "mine.csv line 12: city, country, indicator, period = 'Berlin', 'DE', "
        "'bike_lanes_km', 2022: expected one row per file, city, country, indicator, period",
        "mine.csv line 12: unit = 'm': expected the unit the indicator's first row gives",
    ]


def test_workbooks_and_parquet_files_are_read_not_run(tmp_path):
    rows = [*ROWS[:2], ["Rome", "IT", "bike_lanes_km", "last year", 5, "km", None]]
    assert _rejected("bad.xlsx", write_xlsx(tmp_path / "bad.xlsx", rows).read_bytes())[
        "reason"].tolist() == ["bad.xlsx row 4: period = 'last year': expected a whole number"]
    # a pickle under a Parquet name is refused as a file, never unpickled
    assert _problem("mine.parquet", pickle.dumps({"city": "x"})).startswith(
        "mine.parquet, byte 0: expected a Parquet file (it opens with PAR1)")
    assert _problem("mine.json", b"{}").startswith("mine.json, the file name: expected a .csv")


def test_the_checker_starts_without_prefect_or_the_publishers_sources():
    code = ("import sys, flows.check; "
            "print(sorted(m for m in sys.modules if m.startswith(('prefect', 'flows.sources'))))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    loaded = set(ast.literal_eval(result.stdout.strip()))
    publishers = {source.__module__ for source in SOURCES.values()} - {UserFiles.__module__}
    assert UserFiles.__module__ in loaded and not loaded & publishers
    assert not any(module.startswith("prefect") for module in loaded), loaded


def test_a_load_holds_user_files_and_keeps_other_sources_indicators(registry_copy, tmp_path):
    write_csv(tmp_path / "mine.csv")
    write_parquet(tmp_path / "more.parquet", [
        ["gn:2950159", None, "bike_lanes_km", 2023, 1040.0, "km", None]])
    report = load(registry_copy, _configured(tmp_path, "mine.csv", "more.parquet"))
    assert report.status == "success", report.error
    indicators = dict(query(
        registry_copy, "SELECT indicator_id, source_id || ' ' || unit FROM indicator "
        "WHERE indicator_id IN ('bike_lanes_km', 'population', 'green_roofs_m2')"))
    berlin = query(registry_copy, "SELECT period, value FROM observation WHERE source_id = "
                                  "'user' AND city_id = 'gn:2950159' ORDER BY period")
    reported = query(registry_copy, "SELECT count(*) FROM rejected WHERE source_id = 'user'")
    assert indicators == {"bike_lanes_km": "user km", "population": "geonames persons",
                          "green_roofs_m2": "user unspecified"}
    assert berlin == [(2022, 1012.5), (2023, 1040.0)]
    assert reported == [(4,)]  # Lagos, Atlantis, gn:999999999, Berlin twice
    assert report.rows_rejected == 4
