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


def test_a_header_only_file_fails_with_one_line(tmp_path, capsys):
    """It passed ("0 row(s) ... ok", exit 0): a file that would load nothing is no pass."""
    path = tmp_path / "header.csv"
    path.write_text("city,country,indicator,period,value,unit,source\n")
    code = flows_main(["check", str(path), "--db", str(tmp_path / "none.duckdb")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert captured.err == f"citybench check: {path}: no rows (only a header)\n"


def _large(path, tail: bytes = b""):
    """A file whose repeated key, changed unit and quoted line end fall in different pieces
    when it is read 700 bytes at a time."""
    rows = ["city,country,indicator,period,value,unit", "Paris,FR,k,2020,1,km",
            '"Saint-Denis\nnord",FR,k,2020,2,km']
    rows += [f"Paris,FR,f{i},2020,{i},n" for i in range(40)] + ["Paris,FR,f3,2021,x,n"]
    rows += ["Paris,FR,k,2020,3,km", "Paris,FR,k,2021,4,m", "Lyon,FR,k,2021,5,km"]
    content = ("\n".join(rows) + "\n").encode()
    path.write_bytes(content + tail)
    return path


def test_a_large_file_is_checked_in_pieces_with_the_same_report(tmp_path):
    """A large CSV is read in pieces (bounded memory); the report is the one of a check in one
    go: lines numbered in the whole file, a repeated key and a changed unit found across
    pieces, the rejection policy judged on the whole file."""
    from flows.check import check_file
    from flows.check_pieces import check_in_pieces, pieces
    from warehouse.config import Config

    path, db = _large(tmp_path / "large.csv"), tmp_path / "none.duckdb"
    assert [line for line, _ in pieces(path, 700)] == [2, 33]  # the quoted line end kept whole
    whole = check_file(path, db, Config()).lines()
    # the policy's example is the first rejection each way finds (pandera's order in one go)
    assert _no_example(check_in_pieces(path, db, Config(), size=700).lines()) == _no_example(
        whole)
    assert any("line 2: city, country, indicator, period = 'Paris', 'FR', 'k', 2020" in line
               for line in whole)
    assert any("line 47: unit = 'm': expected the unit" in line for line in whole)
    assert any("4 of 46 observations rows rejected" in line for line in whole)


def _no_example(lines: list[str]) -> list[str]:
    return [line.split(", e.g. ")[0] for line in lines]


@pytest.mark.parametrize("tail", [b"Lyon,FR,k,2022,\xff,km\n", b'Lyon,FR,k,2023,"5,km\n'],
                         ids=["bad-byte", "open-quote"])
def test_a_broken_later_piece_is_named_by_its_place_in_the_file(tmp_path, tail):
    from flows.check import check_file
    from flows.check_pieces import check_in_pieces
    from flows.sources.base import ParseError
    from warehouse.config import Config

    path, db = _large(tmp_path / "large.csv", tail), tmp_path / "none.duckdb"
    with pytest.raises(ParseError) as whole:
        check_file(path, db, Config())
    with pytest.raises(ParseError) as in_pieces:
        check_in_pieces(path, db, Config(), size=700)
    assert str(in_pieces.value) == str(whole.value)
