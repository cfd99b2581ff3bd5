"""`citybench network MATRIX --out O`: the files it writes, and bad matrices refused with one
line naming the cell, exit code 1 and nothing written."""

from __future__ import annotations

import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from app.cli import main
from tests.conftest import ROOT, SHARED, citybench

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
                 "bad.csv, line 3, field 2 (Paris, Firm X): expected a non-negative service "
                 "value, found '-1'"),
    "non-numeric": ("city,Firm X,Firm Y\nLondon,1,2\nParis,3,n/a\n",
                    "bad.csv, line 3, field 3 (Paris, Firm Y): expected a non-negative service "
                    "value, found 'n/a'"),
    "duplicated city": ("city,Firm X\nLondon,1\nParis,2\nLONDON,3\n",
                        "bad.csv, line 4, field 1: expected each city once (also in line 2, "
                        "field 1), found 'LONDON'"),
    "empty column": ("city,Firm X,Firm Y,Firm Z\nLondon,1,,2\nParis,2,,0\n",
                     "bad.csv, line 1, field 3: expected service values below the firm's name, "
                     "found \"an empty column under 'Firm Y'\""),
    "blank cell": ("city,Firm X\nLondon,1\nParis,\n",
                   "bad.csv, line 3, field 2 (Paris, Firm X): expected a non-negative service "
                   "value, found 'a blank cell'"),
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
                        "non-negative service value, found '-2'\n")
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
