"""`citybench network MATRIX --out O`: the files it writes, and bad matrices refused with one
line naming the cell, exit code 1 and nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from app.cli import main
from tests.conftest import ROOT, SHARED, citybench
from warehouse import output_files, spreadsheet_csv

FSU_2018 = SHARED / "opendata/gawc/fsu-2015-2018/Data/RawData/raw_data_2018.xlsx"
# r_AB = 15, r_AC = 13, r_BC = 3: GNC A 28, B 18, C 16
SMALL = "city,Law firm,Bank\nA,5,2\nB,3,0\nC,1,4\n"


def _run(capsys, *args):
    code = main(["network", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_small_matrix_by_hand(tmp_path, capsys):
    matrix, out = tmp_path / "m.csv", tmp_path / "gnc.csv"
    matrix.write_text(SMALL)
    code, said, _ = _run(capsys, matrix, "--out", out, "--dyads", "2")
    assert code == 0
    assert out.read_text().splitlines() == [
        "city,connectivity,share,rank,tier",
        "A,28,1.0,1,Alpha++",
        f"B,18,{18 / 28},2,Alpha+",  # 64% and 57% of the top: Alpha+ from 56%
        f"C,16,{16 / 28},3,Alpha+",
    ]
    dyads = pd.read_csv(tmp_path / "gnc.dyads.csv")
    assert dyads.to_dict("list") == {"rank": [1, 2], "city_a": ["A", "A"], "city_b": ["B", "C"],
                                     "connectivity": [15, 13], "share_of_max": [0.3, 0.26],
                                     "shared": [1, 2]}
    assert f"wrote {out} (3 rows)" in said and "gnc.dyads.csv (2 rows)" in said


def test_connectivity_per_sector_when_the_matrix_names_them(tmp_path, capsys):
    matrix, out = tmp_path / "m.csv", tmp_path / "gnc.csv"
    matrix.write_text("city,Law firm,Bank\nSector,law,banking\nA,5,2\nB,3,0\nC,1,4\n")
    assert _run(capsys, matrix, "--out", out)[0] == 0
    assert pd.read_csv(out)["connectivity"].tolist() == [28, 18, 16]
    # law: total 9, v (9 - v) = 20, 18, 8; banking: total 6: 8, 0, 8
    assert pd.read_csv(tmp_path / "gnc.sectors.csv").to_dict("list") == {
        "city": ["A", "B", "C"], "banking": [8, 0, 8], "law": [20, 18, 8]}


def test_values_above_five_and_ties(tmp_path, capsys):
    matrix, out = tmp_path / "offices.csv", tmp_path / "out"
    matrix.write_text("city,F1,F2\nX,10,0\nY,10,0\nZ,0,7\n")
    assert _run(capsys, matrix, "--out", out, "--dyads", "5")[0] == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert table.to_dict("list") == {"city": ["X", "Y", "Z"], "connectivity": [100, 100, 0],
                                     "share": [1.0, 1.0, 0.0], "rank": [1, 1, 3],
                                     "tier": ["Alpha++", "Alpha++", ""]}
    dyads = pd.read_csv(tmp_path / "out.dyads.csv")  # only X-Y shares anything
    assert dyads[["city_a", "city_b", "connectivity", "share_of_max"]].values.tolist() == [
        ["X", "Y", 100, 100 / (10 ** 2 * 2)]]


@pytest.mark.skipif(not FSU_2018.is_file(), reason="../shared/opendata/gawc absent")
def test_the_fsu_matrix_through_the_installed_command(tmp_path):
    out = tmp_path / "fsu.csv"
    done = citybench("network", str(FSU_2018), "--out", str(out), "--dyads", "3",
                     "--backbone", "--tiers", "jenks", env=None)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["city", "connectivity", "share", "rank", "tier"]
    assert len(table) == 102 and table["connectivity"].is_monotonic_decreasing
    rowsum = pd.read_excel(FSU_2018, sheet_name="OutPut", engine="calamine",
                           index_col=0)["RowSum"]
    assert (table.set_index("city")["connectivity"] == rowsum[table["city"]]).all()
    assert table.iloc[0].tolist() == ["Moscow", 5173, 1.0, 1, "Alpha++"]
    dyads = pd.read_csv(tmp_path / "fsu.dyads.csv")
    assert dyads.iloc[0][["city_a", "city_b", "connectivity", "shared"]].tolist() == [
        "Kiev", "Moscow", 411, 43]
    assert set(dyads.columns) >= {"p_value", "backbone"}
    backbone = pd.read_csv(tmp_path / "fsu.backbone.csv")
    assert len(backbone) == 102 and backbone["backbone_partners"].sum() == 2 * 208
    assert "unnamed firm (column CF)" in done.stdout  # the note on the nameless column


def test_network_imports_neither_prefect_nor_flows(tmp_path):
    matrix = tmp_path / "m.csv"
    matrix.write_text(SMALL)
    probe = (
        "import sys; from app.cli import main; "
        f"code = main(['network', {str(matrix)!r}, '--out', {str(tmp_path / 'o.csv')!r}, "
        "'--backbone']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'flows'})); "
        "sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


BAD = {
    "negative": ("city,Firm X,Firm Y\nLondon,1,2\nParis,-1,3\n",
                 "bad.csv, line 3, field 2 (Paris, Firm X): expected a service value "
                 "0-1e+09, found '-1'"),
    "non-numeric": ("city,Firm X,Firm Y\nLondon,1,2\nParis,3,n/a\n",
                    "bad.csv, line 3, field 3 (Paris, Firm Y): expected a service value "
                    "0-1e+09, found 'n/a'"),
    "duplicated city": ("city,Firm X\nLondon,1\nParis,2\nLONDON,3\n",
                        "bad.csv, line 4, field 1: expected each city once (also in line 2, "
                        "field 1), found 'LONDON'"),
    "empty column": ("city,Firm X,Firm Y,Firm Z\nLondon,1,,2\nParis,2,,0\n",
                     "bad.csv, line 1, field 3: expected service values below the firm's name, "
                     "found \"an empty column under 'Firm Y'\""),
    "blank cell": ("city,Firm X\nLondon,1\nParis,\n",
                   "bad.csv, line 3, field 2 (Paris, Firm X): expected a service value "
                   "0-1e+09, found 'a blank cell'"),
    "no organisation": ("city\nLondon\n", "bad.csv, line 1, field 2: expected a firm name in "
                        "the header row, found 'nothing'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_matrix_is_refused_naming_the_cell(case, tmp_path, capsys, monkeypatch):
    content, reason = BAD[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(content)
    (tmp_path / "out.dyads.csv").write_text("kept\n")  # an earlier result stays as it was
    code, said, err = _run(capsys, "bad.csv", "--out", "out.csv", "--dyads", "3")
    assert code == 1 and said == ""
    assert err == f"citybench network: {reason}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out.dyads.csv"]
    assert (tmp_path / "out.dyads.csv").read_text() == "kept\n"


def test_a_bad_workbook_cell_is_named_as_in_the_spreadsheet(tmp_path, capsys):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "SVM"
    for row in (["City", "Firm X", "Firm Y"], ["London", 5, 2], ["Paris", 3, -2]):
        sheet.append(row)
    book.save(tmp_path / "matrix.xlsx")
    code, _, err = _run(capsys, tmp_path / "matrix.xlsx", "--out", tmp_path / "o.csv")
    assert code == 1
    assert err.endswith("matrix.xlsx, sheet 'SVM', cell C3 (Paris, Firm Y): expected a "
                        "service value 0-1e+09, found '-2'\n")
    assert not (tmp_path / "o.csv").exists()
    code, _, err = _run(capsys, tmp_path / "matrix.xlsx", "--out", tmp_path / "o.csv",
                        "--sheet", "Other")
    assert code == 1 and "sheet 'Other': expected the matrix sheet, found 'sheets SVM'" in err


def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, tmp_path / "absent.csv", "--out", tmp_path / "o.csv")
    assert code == 1 and err == f"citybench network: {tmp_path / 'absent.csv'}: no such file\n"
    matrix = tmp_path / "m.csv"
    matrix.write_text(SMALL)
    code, _, err = _run(capsys, matrix, "--out", tmp_path / "o.csv", "--dyads", "0")
    assert code == 1 and "--dyads 0" in err and err.count("\n") == 1
    code, _, err = _run(capsys, matrix, "--out", tmp_path / "no" / "such" / "o.csv")
    assert code == 1 and "is not a folder" in err
    assert not any(p.name.startswith("o.") for p in tmp_path.iterdir())


def _workbook(path, rows) -> None:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


@pytest.mark.parametrize(("value", "shown"), [(1e308, "1e+308"), (1e200, "1e+200"),
                                              (1e20, "1e+20"), (float("nan"), "nan")])
def test_workbook_numbers_are_range_checked_as_csv_numbers_are(tmp_path, capsys, value, shown):
    """1e308 gave a connectivity of inf with exit 0, 1e200 a wrong rank (v (T - v) cancels);
    a CSV and a workbook now refuse the same values, naming the cell."""
    matrices = {"m.csv": "line 2, field 2"}
    if value == value:  # a workbook holds no NaN (nor inf): an empty cell, refused as blank
        _workbook(tmp_path / "m.xlsx", [["City", "F1", "F2"], ["London", value, 1],
                                        ["Paris", 5, 2]])
        matrices["m.xlsx"] = "sheet 'Sheet', cell B2"
    (tmp_path / "m.csv").write_text(f"City,F1,F2\nLondon,{value!r},1\nParis,5,2\n")
    for matrix, cell in matrices.items():
        code, _, err = _run(capsys, tmp_path / matrix, "--out", tmp_path / "o.csv",
                            "--dyads", "2", "--tiers", "jenks")
        assert code == 1
        found = shown if matrix == "m.xlsx" else repr(value)
        assert err == (f"citybench network: {tmp_path / matrix}, {cell} (London, F1): expected "
                       f"a service value 0-1e+09, found '{found}'\n")
    assert not (tmp_path / "o.csv").exists()


def test_extreme_values_within_the_range_rank_exactly(tmp_path, capsys):
    """Values as far apart as the range allows: a dominant value no longer cancels its city's
    connectivity to 0 (London 1e9 x 1e-300 = Oslo 1e-300 x 1e9, where London got 0 and the
    last rank), and natural breaks (jenks) and the dyads run."""
    (tmp_path / "m.csv").write_text("City,F1,F2\nLondon,1e9,0\nOslo,1e-300,0\nParis,0,1\n")
    code, _, err = _run(capsys, tmp_path / "m.csv", "--out", tmp_path / "o.csv",
                        "--dyads", "3", "--tiers", "jenks")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    assert table["connectivity"].tolist() == [1e-291, 1e-291, 0]
    assert table["rank"].tolist() == [1, 1, 3] and table["city"][2] == "Paris"


def test_a_companion_file_failing_leaves_every_earlier_output(tmp_path, capsys, monkeypatch):
    """All or none: the dyads file failing to go in takes gnc.csv back out (the earlier one
    returns), and the error names the dyads file."""
    matrix, out, dyads = tmp_path / "m.csv", tmp_path / "gnc.csv", tmp_path / "gnc.dyads.csv"
    matrix.write_text(SMALL)
    out.write_text("earlier\n")
    dyads.write_text("earlier dyads\n")
    replace = output_files.os.replace

    def failing_for_dyads(source, target):
        if Path(target) == dyads and Path(source).name.endswith(".tmp"):
            raise OSError(5, "Input/output error")
        replace(source, target)

    monkeypatch.setattr(output_files.os, "replace", failing_for_dyads)
    code, said, err = _run(capsys, matrix, "--out", out, "--dyads", "2")
    assert (code, said) == (1, "")
    assert err == f"citybench network: {dyads}: cannot be written: Input/output error\n"
    assert (out.read_text(), dyads.read_text()) == ("earlier\n", "earlier dyads\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gnc.csv", "gnc.dyads.csv", "m.csv"]
    monkeypatch.undo()
    (tmp_path / "gnc.dyads.csv").unlink()
    (tmp_path / "gnc.dyads.csv").mkdir()  # a folder where a file goes is never replaced
    code, _, err = _run(capsys, matrix, "--out", out, "--dyads", "2")
    assert err == f"citybench network: {dyads}: cannot be written: is a folder, not a file\n"
    assert out.read_text() == "earlier\n"


def test_names_a_spreadsheet_would_run_are_written_as_text(tmp_path, capsys):
    """OWASP's rule for CSV injection: a cell beginning with = + - @, a tab or a CR gets a
    leading quote, in every file written (names of cities, and of sectors as columns)."""
    matrix, out = tmp_path / "m.csv", tmp_path / "gnc.csv"
    matrix.write_text('city,F1,F2\nSector,=cmd|calc,law\n"=HYPERLINK(""http://x"",""go"")",5,2\n'
                      "+SUM(A1),3,0\n-2+3,1,4\n@me,1,1\n")
    assert _run(capsys, matrix, "--out", out, "--dyads", "3")[0] == 0
    text = "".join(p.read_text() for p in tmp_path.glob("gnc*.csv"))
    for name in ('"\'=HYPERLINK(""http://x"",""go"")"', "'+SUM(A1)", "'-2+3", "'@me",
                 "'=cmd|calc"):
        assert name in text
    assert not [line for line in text.splitlines() if line.startswith(("=", "+", "-", "@"))]
    assert spreadsheet_csv.to_csv(pd.DataFrame({"n": [-1.5], "t": ["\tx"]})) == "n,t\n-1.5,'\tx\n"
