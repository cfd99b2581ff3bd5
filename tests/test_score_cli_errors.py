"""`citybench score` on bad inputs and unwritable outputs: one line on stderr naming the file,
the key or the indicator, exit code 1, and nothing written (`--out` and `--steps` are all or
nothing). Most cases run the command in process (app.cli.main, as the console script does);
the acceptance case runs the installed command on COINr's ASEM data.

Tests run as root, so an unwritable folder cannot be made with chmod: the cases use a path
under a regular file (`data.csv/out.csv`) and one under /proc, where no file can be created."""

from __future__ import annotations

import json
import re
import textwrap
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from app import score_cli
from app.cli import main
from tests.coinr_asem import REFERENCE, framework_toml, method_text, needs_reference
from tests.test_score_cli import score, write
from warehouse import output_files

PREFIX = "citybench score: "


def run(capsys, *args) -> tuple[int, str]:
    code = main(["score", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.err


def refused(capsys, *args) -> str:
    """The one line a refused run prints, without the prefix."""
    code, err = run(capsys, *args)
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith(PREFIX), err
    return err.removeprefix(PREFIX).rstrip("\n")


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture
def inputs(tmp_path):
    framework, method, data = write(tmp_path)
    return tmp_path, ["--framework", framework, "--method", method, "--data", data]


@needs_reference
def test_asem_fraction_of_max_with_a_maximum_of_0_is_refused_and_writes_nothing(tmp_path):
    """The acceptance case: fraction_of_max on ASEM, where CostImpEx (lower is better, its
    lowest value 0) has a maximum of 0 after the direction flip. It used to exit 0 with
    every unit at rank 1 and a score of inf; with --steps it stopped on "SVD did not
    converge" and left a half-written folder."""
    framework = tmp_path / "asem.toml"
    framework.write_text(framework_toml())
    method = tmp_path / "frac.method.toml"
    method.write_text(method_text("08_fracmax_amean"))
    out, steps = tmp_path / "asem.csv", tmp_path / "steps"
    result = score("--framework", framework, "--method", method, "--data",
                   REFERENCE / "input" / "ASEM_iData.csv", "--unit", "uCode", "--out", out,
                   "--steps", steps)
    assert result.returncode == 1
    assert result.stderr == (
        'citybench score: frac.method.toml: normalise.method = "fraction_of_max": indicator '
        '"CostImpEx" in 2018: its maximum after the direction is 0, and x / max is not '
        "defined: fraction_of_max needs a maximum above 0 (minmax or distance_to_max take "
        "any)\n"
    )
    assert files(tmp_path) == {"asem.toml", "frac.method.toml"}


def test_a_framework_1500_levels_deep_is_refused_at_once(capsys, inputs):
    folder, args = inputs
    lines, parent = ['id = "idx"'], "idx"
    for k in range(1500):
        lines += ["[[aggregate]]", f'id = "a{k}"', f'parent = "{parent}"']
        parent = f"a{k}"
    lines += ["[[indicator]]", 'id = "parks"', f'parent = "{parent}"']
    (folder / "f.toml").write_text("\n".join(lines))
    started = time.perf_counter()
    assert refused(capsys, *args, "--out", folder / "o.csv") == (
        'f.toml: aggregate "a99".parent: the tree is 101 levels deep here; at most 100'
    )
    assert time.perf_counter() - started < 5  # walking every chain to the root took 3 s


def test_toml_nested_too_deeply(capsys, inputs):
    folder, args = inputs
    (folder / "m.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert refused(capsys, *args, "--out", folder / "o.csv") == (
        "m.toml: not valid TOML: arrays or tables nested too deeply"
    )


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("city", None, "data.csv: column 'city', row 2 of the data: no unit"),
        ("city", " ", "data.csv: column 'city', row 2 of the data: no unit"),
    ],
)
def test_a_unit_column_with_a_gap(capsys, tmp_path, column, value, message):
    data = pd.DataFrame({"city": ["Ada", "Bel", "Cor", "Dun"], "region": ["n", "n", "s", "s"],
                         "population": [1.0, 2.0, 3.0, 4.0], "parks": [1.0, 2.0, 3.0, 4.0],
                         "trees": [4.0, 3.0, 2.0, 1.0], "crime": [1.0, 5.0, 2.0, 3.0]})
    data.loc[1, column] = value
    framework, method, path = write(tmp_path, data=data)
    assert refused(capsys, "--framework", framework, "--method", method, "--data", path,
                   "--out", tmp_path / "o.csv") == message


def test_period_and_unit_flags_naming_a_missing_column(capsys, inputs):
    folder, args = inputs
    out = folder / "o.csv"
    assert refused(capsys, *args, "--out", out, "--period", "yr") == (
        f"{folder / 'data.csv'}: no column 'yr' (given by --period)"
    )
    assert refused(capsys, *args, "--out", out, "--unit", "town") == (
        f"{folder / 'data.csv'}: no column 'town' (given by --unit)"
    )


def test_a_period_column_with_a_gap(capsys, tmp_path):
    rows = pd.DataFrame({"city": ["Ada", "Bel"], "year": [2020, None], "region": ["n", "s"],
                         "population": [1.0, 2.0], "parks": [1.0, 2.0], "trees": [2.0, 1.0],
                         "crime": [1.0, 2.0]})
    framework, method, path = write(tmp_path, data=rows)
    args = ["--framework", framework, "--method", method, "--data", path, "--out",
            tmp_path / "o.csv"]
    assert refused(capsys, *args) == "data.csv: column 'year', row 2 of the data: no period"


def test_inputs_that_are_folders(capsys, inputs):
    folder, args = inputs
    (folder / "adir").mkdir()
    out = folder / "o.csv"
    assert refused(capsys, "--framework", folder / "adir", *args[2:], "--out", out) == (
        f"{folder / 'adir'}: is a folder, not a file"
    )
    assert refused(capsys, *args[:5], folder / "adir", "--out", out) == (
        f"{folder / 'adir'}: is a folder, not a data file"
    )
    assert files(folder) == {"f.toml", "m.toml", "data.csv", "adir"}


def test_out_and_steps_that_cannot_be_written(capsys, inputs):
    folder, args = inputs
    data = folder / "data.csv"
    (folder / "adir").mkdir()
    cases = {
        ("--out", folder / "adir"): (
            f"{folder / 'adir'}: --out is a folder; give a file, e.g. "
            f"{folder / 'adir' / 'scores.csv'}"
        ),
        # a folder that cannot be made: under a regular file (root writes anywhere else)
        ("--out", data / "o.csv"): (
            f"{data / 'o.csv'}: --out cannot be written: {data} is a file, not a folder"
        ),
        ("--out", Path("/proc/o.csv")): "/proc/o.csv: cannot be written: No such file or "
                                        "directory",
        ("--steps", data): f"{data}: --steps exists and is not a folder",
        ("--steps", data / "steps"): (
            f"{data / 'steps'}: --steps cannot be written: {data} is a file, not a folder"
        ),
        ("--steps", Path("/proc/steps")): "/proc/steps: cannot be written: No such file or "
                                          "directory",
    }
    for (flag, path), message in cases.items():
        extra = ["--out", folder / "o.csv"] if flag == "--steps" else []
        assert refused(capsys, *args, flag, path, *extra) == message
    assert files(folder) == {"f.toml", "m.toml", "data.csv", "adir"}
    assert not any((folder / "adir").iterdir())


def test_steps_never_replaces_a_folder_of_other_files_or_one_holding_an_input(
    capsys, inputs
):
    folder, args = inputs
    mine = folder / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert refused(capsys, *args, "--out", folder / "o.csv", "--steps", mine) == (
        f"{mine}: --steps is a folder of other files (no run.json of an earlier run); give a "
        "new or empty folder"
    )
    assert files(mine) == {"notes.txt"}
    # an earlier run's folder is replaced whole: not when an input or --out is in it
    steps = folder / "steps"
    assert run(capsys, *args, "--out", folder / "o.csv", "--steps", steps)[0] == 0
    (folder / "data.csv").rename(steps / "data.csv")
    assert refused(capsys, *args[:5], steps / "data.csv", "--out", folder / "o.csv", "--steps",
                   steps) == (
        f"{steps / 'data.csv'}: is inside the --steps folder {steps}, which is replaced as a "
        "whole"
    )
    (steps / "data.csv").rename(folder / "data.csv")
    assert refused(capsys, *args, "--out", steps / "o.csv", "--steps", steps) == (
        f"{steps / 'o.csv'}: is inside the --steps folder {steps}, which is replaced as a "
        "whole"
    )
    assert files(folder) == {"f.toml", "m.toml", "data.csv", "mine", "o.csv", "steps"}


def test_steps_replaces_an_earlier_run_whole_and_leaves_no_temporary_files(capsys, inputs):
    folder, args = inputs
    steps, out = folder / "steps", folder / "o.csv"
    assert run(capsys, *args, "--out", out, "--steps", steps)[0] == 0
    (steps / "stale.csv").write_text("from a run with another method")
    assert run(capsys, *args, "--out", out, "--steps", steps)[0] == 0
    assert "stale.csv" not in files(steps) and "run.json" in files(steps)
    assert files(folder) == {"f.toml", "m.toml", "data.csv", "o.csv", "steps"}


def test_a_failure_while_writing_the_steps_writes_nothing(capsys, inputs, monkeypatch):
    folder, args = inputs
    steps, out = folder / "steps", folder / "o.csv"
    assert run(capsys, *args, "--out", out, "--steps", steps)[0] == 0
    before = {p.name: p.read_bytes() for p in steps.iterdir()}, out.read_bytes()

    def half_then_fail(folder: Path, *rest) -> None:
        (folder / "Raw.csv").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(score_cli, "write_steps", half_then_fail)
    assert refused(capsys, *args, "--out", out, "--steps", steps) == (
        f"{steps}: cannot be written: No space left on device"
    )
    assert ({p.name: p.read_bytes() for p in steps.iterdir()}, out.read_bytes()) == before
    assert files(folder) == {"f.toml", "m.toml", "data.csv", "o.csv", "steps"}


@pytest.mark.parametrize("earlier", [False, True])
def test_out_failing_after_the_steps_went_in_takes_them_out_again(
    capsys, inputs, monkeypatch, earlier
):
    folder, args = inputs
    steps, out = folder / "steps", folder / "o.csv"
    if earlier:
        assert run(capsys, *args, "--out", folder / "first.csv", "--steps", steps)[0] == 0
        (folder / "first.csv").unlink()
    before = {p.name: p.read_bytes() for p in steps.iterdir()} if earlier else None
    replace = output_files.os.replace

    def failing_for_out(source, target):
        if Path(target) == out:  # the last rename: --steps is in place by now
            raise OSError(5, "Input/output error")
        replace(source, target)

    monkeypatch.setattr(output_files.os, "replace", failing_for_out)
    assert refused(capsys, *args, "--out", out, "--steps", steps) == (
        f"{out}: cannot be written: Input/output error"
    )
    monkeypatch.undo()
    if earlier:
        assert {p.name: p.read_bytes() for p in steps.iterdir()} == before
    assert files(folder) == {"f.toml", "m.toml", "data.csv"} | ({"steps"} if earlier else set())


def test_out_failing_after_the_steps_are_staged_writes_neither(capsys, inputs):
    folder, args = inputs
    assert refused(capsys, *args, "--out", "/proc/o.csv", "--steps", folder / "steps") == (
        "/proc/o.csv: cannot be written: No such file or directory"
    )
    assert files(folder) == {"f.toml", "m.toml", "data.csv"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("city,region,population,parks,trees,crime\nAda,n,1,2,3,4\nBel,s,2,3\nCor,s,1,1,1,1\n",
         "data.csv: line 3: 4 fields, the header has 6"),
        ("city,region,population,parks,trees,crime\nAda,n,1,2,3,4,5\n",
         "data.csv: line 2: 7 fields, the header has 6"),
        ('city,region,population,parks,trees,crime\n"A\nda",n,1,2,3,4\nBel,s,2,3,4\n',
         "data.csv: line 4: 5 fields, the header has 6"),
    ],
)
def test_ragged_csv_rows_are_refused_naming_the_line(capsys, inputs, text, message):
    folder, args = inputs
    (folder / "data.csv").write_text(text)
    assert refused(capsys, *args, "--out", folder / "o.csv") == f"{folder / message}"


def test_a_blank_line_in_a_csv_is_not_a_ragged_row(capsys, inputs):
    folder, args = inputs
    text = (folder / "data.csv").read_text()
    (folder / "data.csv").write_text(text.replace("\n", "\n\n", 1))
    assert run(capsys, *args, "--out", folder / "o.csv")[0] == 0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("replications = 100000000\nweights_noise = 0.2",
         "uncertainty.replications: 100,000,000 replications of 4 units is 4e+08 ranks to "
         "hold; at most 2e+07: lower it"),
        ("replications = 1e8\nweights_noise = 0.2",
         "uncertainty.replications: expected a whole number >= 1 (write 100000000: TOML "
         "reads 1e+08 as a decimal number)"),
        # 4 units, but a Copeland alternative is called once per replication
        ("replications = 1000000\nweights_noise = 0.2\n"
         "aggregate = [{ method = 'arithmetic' }, { method = 'copeland' }]",
         "uncertainty.replications: 1,000,000 replications (4,000,001 composites of 4 units) "
         "is about 6e+10 operations; at most 1e+10 (a minute or two): lower it"),
        ("period = 2019\nweights_noise = 0.2",
         "uncertainty.period: no period 2019; the data have no period column"),
    ],
)
def test_a_monte_carlo_beyond_its_limits_is_refused_before_it_starts(
    capsys, inputs, table, message
):
    folder, args = inputs
    (folder / "m.toml").write_text(f"[uncertainty]\n{table}\n")
    started = time.perf_counter()
    assert refused(capsys, *args, "--out", folder / "o.csv") == f"m.toml: {message}"
    assert time.perf_counter() - started < 5


def test_every_refusal_names_a_file_key_or_indicator(capsys, inputs):
    """The engine's own refusals, through the command: each names the file, and in it the key
    and the indicator or node."""
    folder, args = inputs
    cases = {
        '[normalise]\nmethod = "fraction_of_max"\n': (
            r'm\.toml: normalise\.method = "fraction_of_max": indicator "crime": its maximum '
            r"after the direction is -\d.*would reverse the order"
        ),
        '[aggregate]\nmethod = "geometric"\n': (
            r'm\.toml: aggregate\.method = "geometric" at "(green|safe)": geometric mean needs '
            r"values above 0"
        ),
        '[aggregate.level.2]\nmethod = "generalised"\npower = 3\n[normalise]\nrange = [-1, 1]\n': (
            r'm\.toml: aggregate\.level\.2\.method = "generalised" at "(green|safe)", unit '
            r"'\w+': gives no number \(NaN\): it is not defined with children from -\d"
        ),
        '[weights]\nmethod = "manual"\nvalues = { parks = 0, trees = 0 }\n': (
            r'm\.toml: weights at "green": its children \(parks, trees\) weigh 0 in all'
        ),
        '[weights]\nmethod = "pca"\n': None,  # four complete units: it scores
    }
    for text, pattern in cases.items():
        (folder / "m.toml").write_text(text)
        code, err = run(capsys, *args, "--out", folder / "o.csv")
        if pattern is None:
            assert code == 0, err
            continue
        assert code == 1 and err.count("\n") == 1, err
        assert re.fullmatch(PREFIX + pattern + ".*\n", err), err


def test_a_run_where_no_unit_scores_says_so(capsys, inputs):
    folder, args = inputs
    (folder / "m.toml").write_text("[aggregate]\nmin_availability = 1.0\n")
    data = pd.read_csv(folder / "data.csv").assign(trees=float("nan"))
    data.to_csv(folder / "data.csv", index=False)
    code = main(["score", *map(str, args), "--out", str(folder / "o.csv")])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip().endswith(
        "0 of 4 units scored on liveability -> " + str(folder / "o.csv")
        + " (none has the values the method requires)"
    )


def test_the_steps_of_an_uneven_tree_with_one_indicator_dimensions(capsys, tmp_path):
    """Diagnostics that are not defined (Cronbach's alpha of one indicator, a correlation
    with a constant) are left empty, instead of a ZeroDivisionError or a KeyError for an
    aggregate among an indicator's siblings."""
    framework = textwrap.dedent("""
        id = "idx"
        [[aggregate]]
        id = "green"
        [[indicator]]
        id = "parks"
        parent = "green"
        [[indicator]]
        id = "trees"
    """)
    data = pd.DataFrame({"city": list("ABCD"), "parks": [1.0, 2.0, 3.0, 4.0],
                         "trees": [5.0, 5.0, 5.0, 5.0]})
    f, m, d = write(tmp_path, framework=framework, method="", data=data)
    steps = tmp_path / "steps"
    code, err = run(capsys, "--framework", f, "--method", m, "--data", d, "--out",
                    tmp_path / "o.csv", "--steps", steps)
    assert code == 0, err
    alpha = pd.read_csv(steps / "cronbach_alpha.csv").set_index("node")["alpha"]
    # one indicator under each node: no alpha; the two together: trees adds no variance
    assert alpha[["idx", "green"]].isna().all() and alpha["all indicators"] == 0
    correlations = pd.read_csv(steps / "correlations.csv").set_index("node")["correlation"]
    assert np.isnan(correlations["trees"])  # a constant has no correlation
    assert json.loads((steps / "run.json").read_text())["sha256"]


def test_every_unit_screened_out_is_refused_and_writes_nothing(capsys, inputs):
    """It wrote an empty out.csv and exited 0 (an IndexError followed with --city)."""
    folder, args = inputs
    (folder / "m.toml").write_text("[screen]\nmin_availability = 1.0\n")
    pd.read_csv(folder / "data.csv").assign(trees=float("nan")).to_csv(folder / "data.csv",
                                                                        index=False)
    assert refused(capsys, *args, "--out", folder / "o.csv", "--steps", folder / "steps") == (
        "m.toml: screen: every one of the 4 units is screened out (min_availability = 1): "
        "nothing to score"
    )
    assert files(folder) == {"f.toml", "m.toml", "data.csv"}


def test_a_zero_denominator_is_said_naming_unit_and_indicator(capsys, inputs):
    folder, args = inputs
    data = pd.read_csv(folder / "data.csv")
    data.loc[data["city"] == "Bel", "population"] = 0
    data.to_csv(folder / "data.csv", index=False)
    code, err = run(capsys, *args, "--out", folder / "o.csv")
    assert code == 0
    assert err == ("citybench score: warning: data.csv: population is 0 for Bel: their crime "
                   "per population is left missing\n")
    scored = pd.read_csv(folder / "o.csv").set_index("unit")
    assert np.isnan(scored.loc["Bel", "safe"]) and scored["safe"].drop("Bel").notna().all()


@pytest.mark.parametrize("shape", ["one indicator", "one unit"])
def test_one_indicator_or_one_unit_with_steps_scores_whole(capsys, tmp_path, shape):
    framework = 'id = "idx"\n[[indicator]]\nid = "parks"\nparent = "idx"\n'
    data = pd.DataFrame({"city": ["Ada", "Bel", "Cor"], "parks": [1.0, 3.0, 2.0]})
    if shape == "one unit":
        data = data.head(1)
    f, m, d = write(tmp_path, framework=framework, method="", data=data)
    steps = tmp_path / "steps"
    code, err = run(capsys, "--framework", f, "--method", m, "--data", d, "--out",
                    tmp_path / "o.csv", "--steps", steps)
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "o.csv")
    assert scores["unit"].tolist() == (["Bel", "Cor", "Ada"] if shape == "one indicator"
                                       else ["Ada"])
    assert (steps / "run.json").is_file() and (steps / "Normalised.csv").is_file()


def test_unit_names_a_spreadsheet_would_run_are_written_as_text(capsys, inputs):
    folder, args = inputs
    data = pd.read_csv(folder / "data.csv")
    data["city"] = ["=HYPERLINK(\"http://x\")", "+1", "-Bel", "@Cor"]
    data.to_csv(folder / "data.csv", index=False)
    assert run(capsys, *args, "--out", folder / "o.csv", "--steps", folder / "steps")[0] == 0
    for path in [folder / "o.csv", *(folder / "steps").glob("*.csv")]:
        cells = [cell for line in path.read_text().splitlines() for cell in line.split(",")]
        assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "@"))], path
    assert set(pd.read_csv(folder / "o.csv")["unit"]) == {
        "'=HYPERLINK(\"http://x\")", "'+1", "'-Bel", "'@Cor"}


def test_a_workbook_row_with_an_extra_field_is_refused_naming_the_row(capsys, inputs):
    """A CSV's was refused already; a workbook's extra cell was dropped without a word."""
    folder, args = inputs
    data = pd.read_csv(folder / "data.csv")
    book = openpyxl.Workbook()
    book.active.append(list(data.columns))
    for k, row in enumerate(data.itertuples(index=False)):
        book.active.append([*row, *([99] if k == 2 else [])])
    book.save(folder / "data.xlsx")
    args = [a if a != folder / "data.csv" else folder / "data.xlsx" for a in args]
    assert refused(capsys, *args, "--out", folder / "o.csv") == (
        f"{folder / 'data.xlsx'}: row 4: a value in column 7, which has no header")
    assert not (folder / "o.csv").exists()
