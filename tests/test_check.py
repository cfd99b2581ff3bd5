"""`citybench check FILE`, run as users run it, on every file of tests/data/user: the good
ones pass, each bad one fails with its reason in one line and exit code 1, never a
traceback."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, citybench, cli_env

FILES = ROOT / "tests" / "data" / "user"
# Each file meant to fail, and the words its report must hold.
EXPECTED = {
    "bad-value.csv": "line 2: value = '11OO': expected a number",
    "bad-period.csv": "line 2: period = 22: expected at least 1800",
    "bad-period.xlsx": "row 2: period = 'last year': expected a whole number",
    "bad-header.csv": "line 1: expected the columns city, indicator, period, value (and "
                      "optionally unit, source, country), found 'missing period; unknown year'",
    "bad-encoding.csv": "bad-encoding.csv, byte 42: expected UTF-8 text",
    "bad-duplicate.csv": "bad-duplicate.csv line 3: city, country, indicator, period = "
                         "'Paris', 'FR', 'bike_lanes_km', 2022: expected one row per file, city",
    "bad-empty.csv": "bad-empty.csv, line 1: expected a header: city, indicator, period, value",
    "bad-ragged.csv": "line 2: fields = 4: expected as many fields as the header has",
    "bad-infinite.csv": "line 3: value = inf: expected a finite number",
    "bad-format.json": "bad-format.json, the file name: expected a .csv, .xlsx, .parquet file",
    "bad-truncated.parquet": "expected a Parquet file",
    "bad-unknown-city.csv": "not loaded: Atlantis (GR): no city",
    "bad-population.csv": "population 2024: value = 140000000.0: expected a city population, "
                          "above 0 and below 50 million",
}


def test_every_file_has_an_expectation():
    bad = {path.name for path in FILES.iterdir() if path.name.startswith("bad-")}
    assert bad == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_fails_with_its_reason(name, published, prefect_home):
    result = citybench("check", str(FILES / name), "--db", str(published),
                       env=cli_env(prefect_home))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert EXPECTED[name] in output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["good.csv", "good.xlsx", "good.parquet"])
def test_good_files_pass_against_the_warehouse(name, published, prefect_home):
    result = citybench("check", str(FILES / name), "--db", str(published),
                       env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"{name}: ok against {published}")


def test_without_a_warehouse_only_the_format_is_checked(tmp_path, prefect_home):
    missing = tmp_path / "none.duckdb"
    result = citybench("check", str(FILES / "bad-unknown-city.csv"), "--db", str(missing),
                       env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cities and units not checked: no warehouse yet" in result.stdout
    result = citybench("check", str(tmp_path / "absent.csv"), env=cli_env(prefect_home))
    assert result.returncode == 1
    assert result.stderr.strip() == f"citybench check: {tmp_path / 'absent.csv'}: no such file"
