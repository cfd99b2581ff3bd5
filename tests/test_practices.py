"""Practices and lessons from users' files: the example file through a real refresh, bad rows
reported one line each while the good ones load, unreadable YAML refused whole without losing
what was held, the three forms (YAML, CSV, XLSX) read alike, the reads, and the city page."""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from flows.check import check_file
from flows.sources.catalog import build, read_config
from flows.transport import Offline
from tests.conftest import ROOT, citybench, copy_of, load, query, refresh
from warehouse.config import Config
from warehouse.practices import COLUMNS, practices
from warehouse.validation import split_valid

EXAMPLE = ROOT / "docs" / "practices.example.yaml"
APP = str(ROOT / "app" / "streamlit_app.py")
EDINBURGH, MANCHESTER_GB, CORK = "gn:2650225", "gn:2643123", "gn:2965140"
FIELDS = ["city", "country", "title", "year", "dimension", "indicators", "outcome", "lesson",
          "source_url", "licence"]


def _example() -> list[dict]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["practices"]


def _source(folder, *files, settings: str = ""):
    """The users' source as citybench.toml in `folder` lists `files`."""
    config = folder / "citybench.toml"
    listed = ", ".join(f'"{f}"' for f in files)
    config.write_text(f"[sources.user]\nfiles = [{listed}]\n{settings}")
    return build("user", read_config(config))


@pytest.fixture(scope="module")
def example_db(registry, tmp_path_factory):
    """The registry's warehouse refreshed with the example file listed: the whole refresh
    (load, measures, flags, scores, cross-table checks, atomic publishing), once."""
    folder = tmp_path_factory.mktemp("practices")
    db = copy_of(registry, folder)
    summary = refresh(db, [_source(folder, str(EXAMPLE))])
    assert not summary.failed, summary.failed[0].error
    return db


def _read(db, **filters):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return pd.DataFrame(practices(con, **filters), columns=COLUMNS)
    finally:
        con.close()


# --- the example, through a refresh ----------------------------------------------------------


def test_the_example_loads_through_a_refresh_every_practice_tied_to_its_city(example_db):
    items = _example()
    held = _read(example_db)
    assert len(held) == len(items) >= 5
    assert {"failed", "mixed", "worked"} <= set(held["outcome"])
    by_title = held.set_index("title")
    # the country column tells Manchester (GB) from its namesakes in the United States
    assert by_title.loc["Dockless bike sharing run by a private operator", "city_id"] == (
        MANCHESTER_GB)
    edinburgh = by_title.loc["Congestion charge put to a referendum"]
    assert (edinburgh["city_id"], edinburgh["city_name"], edinburgh["year"]) == (
        EDINBURGH, "Edinburgh", 2005)
    assert edinburgh["source_file"] == str(EXAMPLE)
    assert set(held["source_url"]) == {item["source_url"] for item in items}
    assert list(held.columns) == ["city_id", "city_name", "title", "year", "dimension",
                                  "indicators", "outcome", "lesson", "source_url", "licence",
                                  "source_file"]
    assert held["indicators"].map(lambda ids: ids == []).all()
    # by city, latest year first
    assert list(held["city_id"]) == sorted(held["city_id"])
    loads = query(example_db, "SELECT status, rows_rejected FROM load WHERE source_id = 'user'")
    assert loads == [("success", 0)]


def test_reads_filter_by_outcome_city_and_dimension(example_db):
    failed = _read(example_db, outcome="failed")
    expected = sorted(item["title"] for item in _example() if item["outcome"] == "failed")
    assert sorted(failed["title"]) == expected and len(expected) >= 2
    assert set(failed["outcome"]) == {"failed"}
    assert set(_read(example_db, city_ids=[CORK, EDINBURGH])["city_id"]) == {CORK, EDINBURGH}
    assert _read(example_db, city_ids=[]).empty
    mobility = _read(example_db, dimension="MOBILITY")
    assert len(mobility) == sum(item.get("dimension") == "mobility" for item in _example())
    with pytest.raises(ValueError, match="outcome: expected one of worked, mixed, failed"):
        _read(example_db, outcome="succeeded")


def test_the_city_page_shows_the_citys_practices_failures_too(example_db, monkeypatch):
    monkeypatch.setenv("CITYBENCH_DB", str(example_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(city=MANCHESTER_GB)
    at.run()
    at.switch_page("views/city.py").run()
    assert not at.exception, at.exception
    assert "Practices and lessons" in [s.value for s in at.subheader]
    shown = "\n".join(m.value for m in at.markdown)
    assert "**Dockless bike sharing run by a private operator** (2018)" in shown
    assert ":red-badge[failed]" in shown and "theft and vandalism" in shown
    assert "(https://www.bbc.com/news/uk-england-manchester-45422065)" in shown
    assert "licence fair quotation; link only" in shown
    # another city's practices are not this one's
    assert "Edinburgh" not in shown and "referendum" not in shown


# --- bad rows, bad files ------------------------------------------------------------------------

GOOD = {"city": "gn:2650225", "title": "A good one", "year": 2020, "outcome": "worked",
        "lesson": "It worked.", "source_url": "https://example.org/a", "licence": "CC BY 4.0"}
BAD = [  # each breaks one thing, and says where
    ({**GOOD, "title": "Bad outcome", "outcome": "succeeded"},
     "item 2: outcome = 'succeeded': expected one of worked, mixed, failed"),
    ({k: v for k, v in GOOD.items() if k != "title"},
     "item 3: title = (empty): expected a value, not an empty cell"),
    ({**GOOD, "title": "Bad year", "year": "twenty"},
     "item 4: year = 'twenty': expected a whole number"),
    ({**GOOD, "title": "Bad URL", "source_url": "ftp://example.org/a"},
     "item 5: source_url = 'ftp://example.org/a': expected an http:// or https:// URL"),
    ({**GOOD, "title": "Unknown city", "city": "Xyzzyville"},
     "item 6 Xyzzyville: no city called 'Xyzzyville' in the registry"),
    ({**GOOD, "title": "Ambiguous city", "city": "Lagos"},
     "item 7 Lagos: cities called 'Lagos' in NG, PT: add a country column"),
]
MORE_GOOD = {**GOOD, "title": "Another good one", "city": "Lagos", "country": "NG",
             "outcome": "failed", "indicators": ["bike_lanes_km", "population"],
             "source_url": "https://alice:S3cretPass@intranet.example/notes?token=TOK123ABC&p=2"}


def _write_yaml(path, items):
    path.write_text(yaml.safe_dump({"practices": items}, sort_keys=False), encoding="utf-8")
    return path


def test_bad_rows_are_reported_one_line_each_and_the_good_rows_load(registry_copy, tmp_path):
    _write_yaml(tmp_path / "mine.yaml", [GOOD, *(item for item, _ in BAD), MORE_GOOD])
    report = load(registry_copy, _source(tmp_path, "mine.yaml",
                                         settings="max_rejected_share = 1.0\n"))
    assert report.status == "success", report.error
    assert report.rows_rejected == len(BAD)
    held = _read(registry_copy)
    assert sorted(held["title"]) == ["A good one", "Another good one"]
    lagos = held.set_index("title").loc["Another good one"]
    assert lagos["indicators"] == ["bike_lanes_km", "population"] and lagos["outcome"] == "failed"
    # a credential pasted into the link is not stored (issue 17: credentials in URLs)
    assert "S3cretPass" not in lagos["source_url"] and "TOK123ABC" not in lagos["source_url"]
    assert lagos["source_url"].startswith("https://") and "intranet.example/notes" in (
        lagos["source_url"]) and "p=2" in lagos["source_url"]
    # a contract's reason names the row; a city not found is named by its file and item
    lines = [reason if row else f"{value}: {reason}" for row, value, reason in query(
        registry_copy, "SELECT row_number, value, reason FROM rejected WHERE source_id = 'user'")]
    assert len(lines) == len(BAD)
    for _, expected in BAD:
        assert sum(expected in line for line in lines) == 1, (expected, lines)


def test_unreadable_yaml_loads_nothing_and_keeps_what_was_held(registry_copy, tmp_path):
    listed = _write_yaml(tmp_path / "mine.yaml", [GOOD])
    source = _source(tmp_path, "mine.yaml")
    assert load(registry_copy, source).status == "success"
    marker = tmp_path / "ran"
    for text, expected in [
        ("practices:\n  - city: Edinburgh\n    title: [unclosed\n",
         "mine.yaml, line 4, column 1: expected well-formed YAML"),
        (f"- !!python/object/apply:os.system ['touch {marker}']\n",
         "mine.yaml, line 1, column 3: expected YAML of plain values (no tags that build "
         "objects)"),
        ("city: Edinburgh\n", "mine.yaml, line 1: expected a list of practices"),
    ]:
        listed.write_text(text)
        report = load(registry_copy, source)
        assert report.status == "failed" and report.error.startswith(expected), report.error
        assert "\n" not in report.error
        assert _read(registry_copy)["title"].tolist() == ["A good one"]
    assert not marker.exists()


def test_an_empty_practice_file_clears_them_and_a_values_file_leaves_them(registry_copy,
                                                                          tmp_path):
    listed = _write_yaml(tmp_path / "mine.yaml", [GOOD])
    source = _source(tmp_path, "mine.yaml")
    assert load(registry_copy, source).status == "success"
    (tmp_path / "values.csv").write_text("city,indicator,period,value\ngn:2650225,x_km,2020,1\n")
    assert load(registry_copy, _source(tmp_path, "values.csv")).status == "success"
    assert _read(registry_copy)["title"].tolist() == ["A good one"]
    listed.write_text("practices: []\n")
    assert load(registry_copy, source).status == "success"
    assert _read(registry_copy).empty


# --- the three forms ----------------------------------------------------------------------------


def _write_table(path, items):
    rows = [[_cell(item.get(field)) for field in FIELDS] for item in items]
    if path.suffix == ".csv":
        import csv

        with path.open("w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([FIELDS, *rows])
    else:
        import openpyxl

        book = openpyxl.Workbook()
        for row in [FIELDS, *rows]:
            book.active.append(row)
        book.save(path)
    return path


def _cell(value):
    return "; ".join(value) if isinstance(value, list) else value


def _parsed_rows(path):
    source = _source(path.parent, path.name)
    parsed = source.parse(source.extract(Offline()))
    assert parsed["observations"].empty  # a table with practice columns holds practices
    checked = split_valid(parsed["practices"], source.raw_models["practices"])
    assert checked.rejected.empty, checked.rejected["reason"].tolist()
    return checked.valid[FIELDS].reset_index(drop=True)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_csv_and_xlsx_give_the_rows_the_yaml_gives(tmp_path, suffix):
    items = [*_example(), MORE_GOOD]
    from_yaml = _parsed_rows(_write_yaml(tmp_path / "p.yaml", items))
    from_table = _parsed_rows(_write_table(tmp_path / f"p{suffix}", items))
    assert len(from_yaml) == len(items)
    assert from_table.equals(from_yaml), from_table.compare(from_yaml)
    assert from_yaml["indicators"].iloc[-1] == "bike_lanes_km;population"


def test_check_reads_a_practices_file_against_the_warehouse(example_db, tmp_path):
    good = check_file(EXAMPLE, example_db, Config())
    assert good.ok and good.rows == len(_example()), good.lines()
    bad = _write_yaml(tmp_path / "bad.yaml", [GOOD, BAD[0][0], BAD[4][0]])
    report = check_file(bad, example_db, Config())
    text = "\n".join(report.lines())
    assert not report.ok
    assert "outcome = 'succeeded': expected one of worked, mixed, failed" in text
    assert "no city called 'Xyzzyville'" in text


def test_the_command_lists_the_failures_and_a_citys_practices(example_db):
    import json
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
    run = functools.partial(citybench, "practices", "--db", str(example_db), env=env)
    failed = run("--outcome", "failed", "--format", "json")
    assert failed.returncode == 0, failed.stderr
    records = json.loads(failed.stdout)
    assert {r["outcome"] for r in records} == {"failed"}
    assert sorted(r["title"] for r in records) == sorted(
        item["title"] for item in _example() if item["outcome"] == "failed")
    manchester = run("Manchester, GB")
    assert manchester.returncode == 0, manchester.stderr
    assert manchester.stdout.startswith(f"Manchester ({MANCHESTER_GB}), 2018: ")
    assert "[failed]" in manchester.stdout and "https://www.bbc.com/" in manchester.stdout
    ambiguous = run("Manchester")
    assert ambiguous.returncode == 1 and "could be" in ambiguous.stderr
    assert "Manchester, United Kingdom (GB)" in ambiguous.stderr
