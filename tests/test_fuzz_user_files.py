"""A seeded fuzzer for the commands that read a user's file: `citybench score`, `network` and
`check`. It generates malformed and extreme inputs (extra and missing fields, empty and
header-only files, huge, tiny and non-finite numbers, other encodings, duplicate keys, one unit,
one indicator) and holds every call to the commands' contract: it succeeds with valid outputs,
or it fails with exactly one line and leaves no output, not even a temporary file.

The commands run in this process (their main functions take argv), which is fast; the seeds
are fixed, so a failure reproduces. CITYBENCH_FUZZ_EXAMPLES=1000 runs that many inputs per
test (by hand; the suite runs a few dozen: about 15 s in all, of which ~4 s is pandera's
one-off import of its dask types at the first check in a process)."""

from __future__ import annotations

import contextlib
import io
import os
import random
import traceback
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from app.cli import main as citybench_main
from flows.cli import main as flows_main

EXAMPLES = int(os.environ.get("CITYBENCH_FUZZ_EXAMPLES", "0"))
SEED = 17

# Cell values a user's file may hold, the awkward ones over-represented.
NUMBERS = ["0", "1", "2.5", "-3", "5", "1e308", "-1e308", "1e-308", "1e200", "1e20", "1e9",
           "999999999", "inf", "-inf", "nan", "", "NA", "x", " 7 ", "1,5", "0.0", "-0"]
NAMES = ["Ada", "Bel", "Cor", "Dun", "=HYPERLINK(\"http://x\")", "+cmd", "-minus", "@at",
         "\tTab", "Zoë", "ada", "", "Ada"]


def _call(main, argv: list[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one in-process run; a traceback fails the test with
    the arguments that caused it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user sees them: printed, not raised
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
            if not isinstance(stop.code, int):
                print(stop.code, file=err)
        except Exception:  # the contract under test: never a traceback
            pytest.fail(f"traceback for {argv}:\n{traceback.format_exc()}")
    return code, out.getvalue(), err.getvalue()


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def _refused_cleanly(code: int, err: str, folder: Path, inputs: set[str], argv) -> None:
    assert code != 0
    assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert _files(folder) == inputs, (argv, _files(folder) - inputs)


def _count(default: int) -> int:
    return EXAMPLES or default


# score ----------------------------------------------------------------------------------------

METHODS = [
    "",
    '[normalise]\nmethod = "zscore"\n',
    '[normalise]\nmethod = "rank"\n',
    '[normalise]\nmethod = "minmax"\nrange = [1, 100]\n[aggregate]\nmethod = "geometric"\n',
    "[screen]\nmin_availability = 1.0\n",
    "[screen]\nmin_availability = 0.5\nrule = \"zeros\"\nmin_nonzero = 0.5\n",
    '[treat]\nmethod = "winsorise"\n',
    '[impute]\nmethod = "mean"\n',
    '[weights]\nmethod = "pca"\n',
    '[aggregate]\nmethod = "copeland"\n',
    "[uncertainty]\nreplications = 20\nweights_noise = 0.2\n",
    '[normalise]\nmethod = "fraction_of_max"\n',
    '[normalise]\nmethod = "distance_to_target"\n',
    '[normalise]\nmethod = "goalposts"\nlow = 0\nhigh = 50\n',
    '[normalise]\nmethod = "percentile_rank"\n[aggregate]\nmethod = "harmonic"\n',
    '[treat]\nmethod = "log"\n[impute]\nmethod = "locf"\n',
    '[impute]\nmethod = "group_mean"\ngroup = "region"\n[rank]\ngroups = ["region"]\n',
    '[aggregate]\nmethod = "generalised"\npower = -2\n',
    "[uncertainty]\nreplications = 10\nweights_noise = 0.3\nsensitivity = true\n",
]


def _framework(rng: random.Random, indicators: list[str], denominated: bool) -> str:
    lines = ['id = "idx"']
    grouped = len(indicators) > 1 and rng.random() < 0.5
    if grouped:
        lines += ["[[aggregate]]", 'id = "dim"', 'parent = "idx"']
    for k, name in enumerate(indicators):
        lines += ["[[indicator]]", f'id = "{name}"',
                  f'parent = "{"dim" if grouped and k else "idx"}"']
        if k == 0 and rng.random() < 0.3:
            lines.append("direction = -1")
        if k == len(indicators) - 1 and denominated:
            lines.append('denominator = "population"')
    return "\n".join(lines) + "\n"


def _table(rng: random.Random, header: list[str], rows: int, odd: list[str]) -> list[list[str]]:
    """Rows of plain numbers; in about half the files, one or two cells from `odd`."""
    table = [header]
    for r in range(rows):
        table.append([f"{NAMES[r % 4]}{r // 4 or ''}"]
                     + [str(round(rng.uniform(0, 100), 2)) for _ in header[1:]])
    for _ in range(rng.choice([0, 0, 1, 2])):
        if rows and len(header) > 1:
            table[rng.randrange(1, rows + 1)][rng.randrange(1, len(header))] = rng.choice(odd)
    return table


def _damaged(rng: random.Random, table: list[list[str]]) -> list[list[str]]:
    """One of the ways a user's file goes wrong, or none."""
    roll = rng.random()
    if roll < 0.08 and len(table) > 1:
        table[rng.randrange(1, len(table))].append("99")  # an extra field
    elif roll < 0.16 and len(table) > 1:
        table[rng.randrange(1, len(table))].pop()  # a missing field
    elif roll < 0.24:
        del table[1:]  # header only
    elif roll < 0.30 and len(table) > 2:
        table[2][0] = table[1][0]  # a unit twice
    elif roll < 0.40 and len(table) > 1:
        table[rng.randrange(1, len(table))][0] = rng.choice(NAMES)  # odd or blank names
    elif roll < 0.44:
        table[0][-1] = table[0][1]  # a column twice
    return table


def _encoded(rng: random.Random, table: list[list[str]]) -> bytes:
    text = "\n".join(",".join(_quoted(cell) for cell in row) for row in table) + "\n"
    roll = rng.random()
    if roll < 0.03:
        return b""
    if roll < 0.06:
        return text.encode("latin-1", errors="replace")
    if roll < 0.10:
        return "\ufeff".encode() + text.encode()
    if roll < 0.12:
        return text.encode("utf-16")
    if roll < 0.15:
        return text.replace("\n", "\r\n").encode()
    return text.encode()


def _shaped(rng: random.Random, table: list[list[str]]) -> list[list[str]]:
    """The wide table as it is, with a region and a period (each row twice), or long."""
    roll = rng.random()
    header, rows = table[0], table[1:]
    if roll < 0.15:
        return [["region", *header]] + [[rng.choice(["n", "s", ""]), *row] for row in rows]
    if roll < 0.30:
        return [[header[0], "year", *header[1:]]] + [
            [row[0], str(year), *row[1:]] for row in rows for year in (2020, 2021)]
    if roll < 0.45:
        return [["unit", "indicator", "value"]] + [
            [row[0], name, value] for row in rows for name, value in zip(header[1:], row[1:],
                                                                        strict=False)]
    return table


def _quoted(cell: str) -> str:
    return f'"{cell}"' if any(c in cell for c in ',"\n\r') and '"' not in cell else cell


def _score_case(rng: random.Random, folder: Path) -> list[str]:
    indicators = ["a", "b", "c"][: rng.choice([1, 1, 2, 3])]
    denominated = rng.random() < 0.3
    header = ["city", *indicators] + (["population"] if denominated else [])
    table = _table(rng, header, rng.choice([0, 1, 1, 2, 4, 6]), NUMBERS)
    table = _damaged(rng, _shaped(rng, table))
    (folder / "f.toml").write_text(_framework(rng, indicators, denominated))
    (folder / "m.toml").write_text(rng.choice(METHODS))
    argv = ["score", "--framework", str(folder / "f.toml"), "--method", str(folder / "m.toml"),
            "--out", str(folder / "out.csv")]
    if rng.random() < 0.1:
        argv += ["--city", rng.choice(["Ada", "Nobody", table[-1][0]])]
    if rng.random() < 0.15 and all(len(row) == len(table[0]) for row in table):
        pd.DataFrame(table[1:], columns=table[0]).to_excel(folder / "data.xlsx", index=False)
        return [*argv, "--data", str(folder / "data.xlsx")]
    (folder / "data.csv").write_bytes(_encoded(rng, table))
    argv += ["--data", str(folder / "data.csv")]
    if rng.random() < 0.4:
        argv += ["--steps", str(folder / "steps")]
    return argv


def _valid_scores(folder: Path, argv: list[str], data: Path) -> None:
    scores = pd.read_csv(folder / "out.csv")
    assert {"unit", "rank", "score"} <= set(scores.columns) and len(scores), argv
    finite = scores["score"].astype(float).dropna()
    assert np.isfinite(finite).all(), argv
    ranked = scores.dropna(subset=["score"])
    by_period = ranked.groupby("period") if "period" in ranked else [(None, ranked)]
    for _, period in by_period:  # the best score has rank 1 (ties share the better rank)
        assert (period["rank"].to_numpy() == period["score"].rank(method="min", ascending=False)
                .to_numpy()).all(), (argv, scores)
    if "--steps" in argv:
        assert (folder / "steps" / "run.json").is_file(), argv


@pytest.mark.parametrize("part", range(2))
def test_score_never_leaves_a_traceback_or_a_partial_output(tmp_path, part):
    rng = random.Random(f"{SEED}-score-{part}")
    for case in range(_count(15)):
        folder = tmp_path / f"{part}-{case}"
        folder.mkdir()
        argv = _score_case(rng, folder)
        inputs = _files(folder)
        code, _, err = _call(citybench_main, argv)
        if code == 0:
            assert all(line.startswith("citybench score: ") for line in err.splitlines()), \
                (argv, err)
            _valid_scores(folder, argv, Path(argv[-1]))
            assert not [n for n in _files(folder) if n.startswith(".")], argv
        else:
            _refused_cleanly(code, err, folder, inputs, argv)


def test_the_highest_value_never_gets_the_lowest_score(tmp_path):
    """One indicator, values up to +-1e308 (the issue's case): the order of the scores is the
    order of the values, or the file is refused in one line."""
    rng = random.Random(f"{SEED}-extremes")
    (tmp_path / "f.toml").write_text('id = "idx"\n[[indicator]]\nid = "a"\nparent = "idx"\n')
    for case in range(_count(8)):
        (tmp_path / "m.toml").write_text(rng.choice(METHODS[:4] + METHODS[6:8]))
        values = [rng.choice(["1e308", "-1e308", "1e307", "-5e307", "1", "0", "2", "1e-300"])
                  for _ in range(4)]
        text = "city,a\n" + "".join(f"U{k},{v}\n" for k, v in enumerate(values))
        (tmp_path / "data.csv").write_text(text)
        out = tmp_path / "out.csv"
        out.unlink(missing_ok=True)
        argv = ["score", "--framework", str(tmp_path / "f.toml"), "--method",
                str(tmp_path / "m.toml"), "--data", str(tmp_path / "data.csv"), "--out", str(out)]
        code, _, err = _call(citybench_main, argv)
        if code != 0:
            assert err.count("\n") == 1 and not out.exists(), (case, err)
            continue
        scores = pd.read_csv(out).set_index("unit")["score"]
        raw = pd.Series([float(v) for v in values], index=[f"U{k}" for k in range(4)])
        ordered = raw.sort_values().index
        assert scores[ordered].is_monotonic_increasing, (values, scores.to_dict())


# network --------------------------------------------------------------------------------------

MATRIX_VALUES = ["0", "1", "2", "3", "5", "1e9", "1e10", "1e20", "1e200", "1e308", "inf",
                 "nan", "", "-1", "1e-300", "0.5", "x", "999999999"]


def _network_case(rng: random.Random, folder: Path) -> tuple[list[str], list[list[str]]]:
    """The arguments, and the matrix as written (cells as text)."""
    cities = rng.choice([1, 2, 3, 5, 8])
    firms = rng.choice([1, 2, 3, 6])
    header = ["City"] + [f"Firm {k}" for k in range(firms)]
    table = [header]
    for c in range(cities):
        name = rng.choice(NAMES) + (str(c) if rng.random() < 0.8 else "")
        table.append([name] + [str(rng.randrange(6)) for _ in range(firms)])
    for _ in range(rng.choice([0, 0, 1, 2])):
        table[rng.randrange(1, cities + 1)][rng.randrange(1, firms + 1)] = \
            rng.choice(MATRIX_VALUES)
    table = _damaged(rng, table)
    argv = ["network", "--out", str(folder / "gnc.csv")]
    if rng.random() < 0.5:
        argv += ["--dyads", str(rng.choice([1, 3, 100]))]
    if rng.random() < 0.5:
        argv += ["--tiers", "jenks"]
    if rng.random() < 0.2:
        argv += ["--backbone"]
    if rng.random() < 0.3:
        book = openpyxl.Workbook()
        for row in table:
            book.active.append([_cell(value) for value in row])
        book.save(folder / "m.xlsx")
        return [*argv, str(folder / "m.xlsx")], table
    (folder / "m.csv").write_bytes(_encoded(rng, table))
    return [*argv, str(folder / "m.csv")], table


def _cell(text: str) -> object:
    """Numbers as spreadsheet numbers (1e308, inf and nan included), the rest as text."""
    try:
        return float(text)
    except ValueError:
        return text or None


def _valid_network(folder: Path, argv: list[str], matrix: list[list[str]]) -> None:
    table = pd.read_csv(folder / "gnc.csv", keep_default_na=False, na_values=[""],
                        dtype={"city": str})
    connectivity = table["connectivity"].astype(float)
    assert np.isfinite(connectivity).all() and (connectivity >= 0).all(), (argv, table)
    assert table["share"].between(0, 1).all(), (argv, table)
    expected = connectivity.rank(method="min", ascending=False).astype(int)
    assert (table["rank"] == expected).all(), (argv, table)
    for name in table["city"]:  # nothing a spreadsheet would run
        assert not str(name).startswith(("=", "+", "-", "@", "\t", "\r")), (argv, name)
    exact = _exact_connectivity(matrix)
    rank = dict(zip(table["city"].str.removeprefix("'"), table["rank"], strict=True))
    for a, gnc_a in exact.items():  # a city more connected is ranked above, by exact sums
        for b, gnc_b in exact.items():
            if gnc_a > gnc_b * (1 + Fraction(1, 10**9)):
                assert rank[a.strip()] < rank[b.strip()], (argv, a, b, table)


def _exact_connectivity(matrix: list[list[str]]) -> dict[str, Fraction]:
    """GNC by definition, in exact arithmetic on the values as read (floats)."""
    rows = {row[0]: [Fraction(float(v)) for v in row[1:]] for row in matrix[1:] if row[0]}
    return {a: sum((x * y for b, other in rows.items() if b != a
                    for x, y in zip(values, other, strict=False)), Fraction(0))
            for a, values in rows.items()}


@pytest.mark.parametrize("part", range(2))
def test_network_never_leaves_a_traceback_or_a_partial_output(tmp_path, part):
    rng = random.Random(f"{SEED}-network-{part}")
    for case in range(_count(20)):
        folder = tmp_path / f"{part}-{case}"
        folder.mkdir()
        argv, matrix = _network_case(rng, folder)
        inputs = _files(folder)
        code, _, err = _call(citybench_main, argv)
        if code == 0:
            assert all(line.startswith("citybench network: ") for line in err.splitlines()), \
                (argv, err)
            _valid_network(folder, argv, matrix)
            assert not [n for n in _files(folder) if n.startswith(".")], argv
        else:
            _refused_cleanly(code, err, folder, inputs, argv)


# check ----------------------------------------------------------------------------------------

CHECK_HEADER = ["city", "country", "indicator", "period", "value", "unit", "source"]


def _check_case(rng: random.Random, folder: Path) -> Path:
    table = [list(CHECK_HEADER)]
    for _ in range(rng.choice([0, 1, 2, 5])):
        table.append([rng.choice(NAMES), rng.choice(["FR", "DE", "XX", "", "fr"]),
                      rng.choice(["bike_lanes_km", "population", "", "x y"]),
                      rng.choice(["2022", "1799", "2200", "", "20x", "2022.5"]),
                      rng.choice(NUMBERS), rng.choice(["km", "", "%"]), ""])
    table = _damaged(rng, table)
    path = folder / "user.csv"
    path.write_bytes(_encoded(rng, table))
    return path


def test_check_never_leaves_a_traceback(tmp_path):
    rng = random.Random(f"{SEED}-check")
    absent = tmp_path / "no-warehouse.duckdb"  # the file's own rules, no registry
    for case in range(_count(5)):  # a check costs ~0.4 s (pandera validates)
        folder = tmp_path / str(case)
        folder.mkdir()
        path = _check_case(rng, folder)
        code, out, err = _call(flows_main, ["check", str(path), "--db", str(absent)])
        assert code in (0, 1), (path.read_bytes(), err)
        assert "Traceback" not in out + err
        if err:  # refused as a whole: one line
            assert code == 1 and err.count("\n") == 1, (path.read_bytes(), err)
        assert code == 1 or " 0 row(s) with a value, 0 without" not in out, out  # no rows
        assert _files(folder) == {"user.csv"} and not absent.exists()
