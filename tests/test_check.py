"""`citybench check FILE` on every file of tests/data/user: the good ones pass, each bad one
fails with its reason in one line and exit code 1, never a traceback. The command itself runs
as users run it; the files go through its entry point in this process, which is faster."""

from __future__ import annotations

import pytest

from flows.cli import main as flows_main
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
    "bad-population.csv": "population 2024 user: value = 140000000.0: expected a city "
                          "population, above 0 and at most 50 million",
}


def test_a_file_a_refresh_would_refuse_says_so(published, capsys):
    """The source's rejection policy is part of the rules: a file whose every row is bad
    would load nothing, and the check says why, as the refresh would."""
    code, output = _check(capsys, str(FILES / "bad-value.csv"), "--db", str(published))
    assert code == 1
    assert ("a refresh would load none of it: 1 of 1 observations rows rejected (more than "
            "5%), e.g.") in output


def test_every_file_has_an_expectation():
    bad = {path.name for path in FILES.iterdir() if path.name.startswith("bad-")}
    assert bad == set(EXPECTED)


def _check(capsys, *args: str) -> tuple[int, str]:
    code = flows_main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_fails_with_its_reason(name, published, capsys):
    code, output = _check(capsys, str(FILES / name), "--db", str(published))
    assert code == 1, output
    assert EXPECTED[name] in output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["good.csv", "good.xlsx", "good.parquet"])
def test_good_files_pass_against_the_warehouse(name, published, capsys):
    code, output = _check(capsys, str(FILES / name), "--db", str(published))
    assert code == 0, output
    assert output.strip().endswith(f"{name}: ok against {published}")


def test_the_command_as_users_run_it(published, prefect):
    env = cli_env(prefect)
    bad = citybench("check", str(FILES / "bad-value.csv"), "--db", str(published), env=env)
    assert bad.returncode == 1 and EXPECTED["bad-value.csv"] in bad.stdout
    good = citybench("check", str(FILES / "good.csv"), "--db", str(published), env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[0].endswith("good.csv: 3 row(s) with a value, 1 without "
                                                "(left out)")


def test_without_a_warehouse_only_the_format_is_checked(tmp_path, prefect):
    missing = tmp_path / "none.duckdb"
    result = citybench("check", str(FILES / "bad-unknown-city.csv"), "--db", str(missing),
                       env=cli_env(prefect))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cities and units not checked: no warehouse yet" in result.stdout
    result = citybench("check", str(tmp_path / "absent.csv"), env=cli_env(prefect))
    assert result.returncode == 1
    assert result.stderr.strip() == f"citybench check: {tmp_path / 'absent.csv'}: no such file"
