"""Self-assessment frameworks: questionnaire answers -> points -> the composite engine, the
one-line refusal of every bad answer, the shipped intercultural framework through the real
`citybench score`, and `--city`/`--peers` against a computation of their own."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.cli import main
from indicators.composite.questionnaire import answers_to_indicators, load_questionnaire
from indicators.composite.spec import SpecError, load_framework
from tests.conftest import ROOT, citybench

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}
SHIPPED = ROOT / "docs" / "self_assessment"
PREFIX = "citybench score: "

# A tiny framework: every kind of scale, a question weight, two dimensions.
FRAMEWORK = """
id = "tiny"

[scales.ypn]
yes = 100
partly = 50
no = 0

[scales.one_to_five]
range = [1, 5]

[[aggregate]]
id = "policy"

[[aggregate]]
id = "practice"

[[indicator]]
id = "plan"
parent = "policy"

[[indicator]]
id = "staff"
parent = "policy"

[[indicator]]
id = "events"
parent = "practice"

[[question]]
id = "q_plan"
indicator = "plan"
text = "Is there a plan?"
scale = "ypn"

[[question]]
id = "q_budget"
indicator = "plan"
text = "Has it a budget?"
scale = { funded = 80, unfunded = 10 }
weight = 3

[[question]]
id = "q_staff"
indicator = "staff"
text = "How diverse is the staff, 1 to 5?"
scale = "one_to_five"

[[question]]
id = "q_events"
indicator = "events"
text = "Are there mixing events?"
scale = "ypn"

[[question]]
id = "q_often"
indicator = "events"
text = "How often, 1 to 5?"
scale = "one_to_five"
"""

METHOD = """
[normalise]
method = "goalposts"
low = 0
high = 100
range = [0, 100]
"""

ANSWERS = [
    ("Ash", "q_plan", "yes"), ("Ash", "q_budget", "funded"), ("Ash", "q_staff", 4),
    ("Ash", "q_events", "partly"), ("Ash", "q_often", 5),
    ("Birch", "q_plan", "Partly"), ("Birch", "q_budget", "unfunded"), ("Birch", "q_staff", 1),
    ("Birch", "q_events", "no"), ("Birch", "q_often", 2),
    ("Cedar", "q_plan", "no"), ("Cedar", "q_budget", "funded"), ("Cedar", "q_staff", 2.5),
    ("Cedar", "q_events", "yes"), ("Cedar", "q_often", 3),
]


def answers(rows=ANSWERS) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["city", "question", "answer"])


def write(tmp_path: Path, rows=ANSWERS, framework=FRAMEWORK, method=METHOD) -> list[str]:
    (tmp_path / "f.toml").write_text(textwrap.dedent(framework))
    (tmp_path / "m.toml").write_text(textwrap.dedent(method))
    answers(rows).to_csv(tmp_path / "answers.csv", index=False)
    return ["--framework", str(tmp_path / "f.toml"), "--method", str(tmp_path / "m.toml"),
            "--data", str(tmp_path / "answers.csv"), "--out", str(tmp_path / "out.csv")]


def by_hand(rows=ANSWERS) -> pd.DataFrame:
    """The tiny framework's indicator points, computed here from the scales' definitions."""
    labels = {"yes": 100, "partly": 50, "no": 0, "funded": 80, "unfunded": 10}

    def points(answer):
        if isinstance(answer, str):
            return labels[answer.lower()]
        return (answer - 1) / (5 - 1) * 100  # range [1, 5] onto 0..100

    got = {(city, q): points(a) for city, q, a in rows}
    cities = sorted({city for city, _, _ in rows})
    return pd.DataFrame({
        "plan": [(got[c, "q_plan"] * 1 + got[c, "q_budget"] * 3) / 4 for c in cities],
        "staff": [got[c, "q_staff"] for c in cities],
        "events": [(got[c, "q_events"] + got[c, "q_often"]) / 2 for c in cities],
    }, index=pd.Index(cities, name="city"))


def test_answers_become_points_as_computed_by_hand():
    framework = load_framework(textwrap.dedent(FRAMEWORK), "f.toml")
    wide = answers_to_indicators(load_questionnaire(framework), answers(), unit="city")
    pd.testing.assert_frame_equal(wide.set_index("city"), by_hand(), check_like=True)


def test_the_engine_scores_the_points_with_no_arithmetic_of_its_own(tmp_path):
    code = main(["score", *write(tmp_path)])
    assert code == 0
    out = pd.read_csv(tmp_path / "out.csv").set_index("unit")
    points = by_hand()
    policy = points[["plan", "staff"]].mean(axis=1)
    practice = points["events"]
    assert np.allclose(out.loc[points.index, "policy"], policy)
    assert np.allclose(out.loc[points.index, "score"], (policy + practice) / 2)


def test_a_workbook_of_answers_scores_as_the_csv_does(tmp_path):
    assert main(["score", *write(tmp_path)]) == 0
    answers().to_excel(tmp_path / "answers.xlsx", index=False)
    args = write(tmp_path)
    args[args.index("--data") + 1] = str(tmp_path / "answers.xlsx")
    args[args.index("--out") + 1] = str(tmp_path / "from_xlsx.csv")
    assert main(["score", *args]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "from_xlsx.csv"),
                                  pd.read_csv(tmp_path / "out.csv"))


def test_a_framework_without_questions_is_scored_as_before():
    framework = load_framework('id = "x"\n[[indicator]]\nid = "a"\n', "x.toml")
    assert load_questionnaire(framework) is None


# --- bad answers: one line each, exit 1, nothing written -------------------------------------

def refused(capsys, tmp_path, rows, framework=FRAMEWORK) -> str:
    code = main(["score", *write(tmp_path, rows, framework)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith(PREFIX), err
    assert not (tmp_path / "out.csv").exists()
    return err.removeprefix(PREFIX).rstrip("\n")


@pytest.mark.parametrize("change, expected", [
    ((0, ("Ash", "q_plna", "yes")),
     "answers.csv: row 1 of the answers: city 'Ash': no question 'q_plna' in f.toml "
     "(did you mean 'q_plan'?)"),
    ((1, ("Ash", "q_budget", "maybe")),
     "answers.csv: row 2 of the answers: city 'Ash', question 'q_budget': 'maybe' is not on "
     "its scale; expected one of funded, unfunded, or a blank answer for not answered"),
    ((2, ("Ash", "q_staff", 6)),
     "answers.csv: row 3 of the answers: city 'Ash', question 'q_staff': '6' is not on its "
     "scale; expected a number from 1 to 5, or a blank answer for not answered"),
    ((2, ("Ash", "q_staff", "many")),
     "answers.csv: row 3 of the answers: city 'Ash', question 'q_staff': 'many' is not on "
     "its scale; expected a number from 1 to 5, or a blank answer for not answered"),
    ((5, ("Ash", "q_plan", "no")),
     "answers.csv: rows 1 and 6 of the answers: city 'Ash' answers question 'q_plan' twice; "
     "expected one answer"),
    ((5, None),
     "answers.csv: city 'Birch': no row for question 'q_plan'; expected one of yes, partly, "
     "no, or a row with a blank answer if the city did not answer it"),
    ((0, (None, "q_plan", "yes")), "answers.csv: row 1 of the answers: no city"),
])
def test_every_bad_answer_is_one_line_naming_city_question_and_what_was_expected(
        capsys, tmp_path, change, expected):
    at, row = change
    rows = list(ANSWERS)
    if row is None:
        rows.pop(at)
    else:
        rows[at] = row
    assert refused(capsys, tmp_path, rows) == expected


@pytest.mark.parametrize("edit, expected", [
    (('indicator = "events"\ntext = "Are', 'indicator = "event"\ntext = "Are'),
     "f.toml: question \"q_events\".indicator: no indicator 'event' in f.toml"),
    (('scale = "ypn"\n\n[[question]]\nid = "q_budget"', 'scale = "ynp"\n\n[[question]]\n'
      'id = "q_budget"'),
     "f.toml: question \"q_plan\".scale: no scale 'ynp'; known: ypn, one_to_five"),
    (("no = 0", "no = -5"), "f.toml: scales.ypn.no: -5 points; expected 0 to 100"),
    (("range = [1, 5]", "range = [5, 1]"), "f.toml: scales.one_to_five.range: high must be "
     "above low"),
    (('id = "q_staff"\nindicator = "staff"', 'id = "q_staff"\nindicator = "plan"'),
     'f.toml: indicator "staff": no [[question]] feeds it'),
])
def test_a_questionnaire_that_cannot_be_used_is_one_line(capsys, tmp_path, edit, expected):
    framework = textwrap.dedent(FRAMEWORK).replace(*edit)
    assert framework != textwrap.dedent(FRAMEWORK)
    assert refused(capsys, tmp_path, ANSWERS, framework) == expected


# --- an unanswered question is missing, not zero ---------------------------------------------

def test_a_blank_answer_is_missing_and_the_method_decides_what_it_costs(capsys, tmp_path):
    blank = [(c, q, "" if (c, q) == ("Cedar", "q_staff") else a) for c, q, a in ANSWERS]
    zero = [(c, q, 1 if (c, q) == ("Cedar", "q_staff") else a) for c, q, a in ANSWERS]
    points = by_hand(zero)  # Cedar's staff at 0 points: what counting a gap as zero gives

    def score(rows, method=METHOD) -> pd.Series:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        assert main(["score", *write(folder, rows, method=method)]) == 0, capsys.readouterr()
        return pd.read_csv(folder / "out.csv").set_index("unit")["policy"]

    framework = load_framework(textwrap.dedent(FRAMEWORK), "f.toml")
    wide = answers_to_indicators(load_questionnaire(framework), answers(blank), unit="city")
    assert wide.set_index("city").isna().sum().sum() == 1  # Cedar's staff alone, not 0

    # without imputation the dimension is the mean of Cedar's other indicator (plan)...
    assert score(blank)["Cedar"] == pytest.approx(points.at["Cedar", "plan"])
    assert score(zero)["Cedar"] == pytest.approx(points.at["Cedar", "plan"] / 2)
    # ...with mean imputation the gap takes the other cities' mean
    imputed = METHOD + '\n[impute]\nmethod = "mean"\n'
    staff = points.loc[["Ash", "Birch"], "staff"].mean()
    assert score(blank, imputed)["Cedar"] == pytest.approx(
        (points.at["Cedar", "plan"] + staff) / 2)


def test_min_answered_lets_an_indicator_be_the_mean_of_its_answered_questions():
    lenient = textwrap.dedent(FRAMEWORK) + "\n[questionnaire]\nmin_answered = 0.5\n"
    blank = [(c, q, "" if (c, q) == ("Ash", "q_often") else a) for c, q, a in ANSWERS]
    questionnaire = load_questionnaire(load_framework(lenient, "f.toml"))
    wide = answers_to_indicators(questionnaire, answers(blank), unit="city").set_index("city")
    assert wide.at["Ash", "events"] == 50  # "partly" alone
    strict = load_questionnaire(load_framework(textwrap.dedent(FRAMEWORK), "f.toml"))
    wide = answers_to_indicators(strict, answers(blank), unit="city").set_index("city")
    assert np.isnan(wide.at["Ash", "events"])


def test_min_answered_is_a_share():
    with pytest.raises(SpecError, match=r"min_answered: expected a share in \(0, 1\], got 0"):
        load_questionnaire(load_framework(
            textwrap.dedent(FRAMEWORK) + "\n[questionnaire]\nmin_answered = 0\n", "f.toml"))


# --- the shipped framework, through the installed command ------------------------------------

def citybench_score(*args: str) -> subprocess.CompletedProcess:
    return citybench("score", *args, env=ENV)


def shipped(tmp_path: Path) -> list[str]:
    return ["--framework", str(SHIPPED / "intercultural.toml"),
            "--method", str(SHIPPED / "intercultural.method.toml"),
            "--data", str(SHIPPED / "example_answers.csv"), "--out", str(tmp_path / "out.csv")]


def test_the_shipped_framework_scores_the_example_answers(tmp_path):
    result = citybench("score", *shipped(tmp_path), env=ENV)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    cities = pd.read_csv(SHIPPED / "example_answers.csv")["city"].unique()
    assert sorted(out["unit"]) == sorted(cities) and len(out) == len(cities)
    assert out["score"].between(0, 100).all()


def _row(stdout: str, node: str) -> list[str]:
    line = next(x for x in stdout.splitlines() if x.split()[:1] == [node])
    return re.sub(r"(\d+) of (\d+)", r"\1/\2", line).split()


def test_city_and_peers_agree_with_a_computation_of_their_own(tmp_path):
    city, peers = "Example city D", ["Example city B", "Example city E", "Example city F"]
    result = citybench_score(*shipped(tmp_path), "--city", city, "--peers", ";".join(peers))
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv").set_index("unit")
    out = out.rename(columns={"score": "intercultural"})
    for node in ("intercultural", "governance", "lens", "openness"):
        # node kind points panel_rank q1 median q3 peers_rank q1 median q3
        row = _row(result.stdout, node)
        mine = out.at[city, node]
        for rank_at, median_at, group in ((3, 5, out.index), (7, 9, peers)):
            others = out.loc[[u for u in group if u != city], node]
            rank = 1 + int((others > mine).sum())
            assert row[rank_at] == f"{rank}/{len(others) + 1}", (node, row)
            assert float(row[median_at]) == pytest.approx(others.median(), abs=0.05), (node, row)
        assert float(row[2]) == pytest.approx(mine, abs=0.05)
    assert "against the 8 cities that answered in example_answers.csv" in result.stdout


def test_city_and_peers_must_be_units_of_the_file(tmp_path):
    for extra, message in (
        (["--city", "Example city Z"], "--city: no unit 'Example city Z' in the file"),
        (["--city", "Example city A", "--peers", "Example city B;Nowhere"],
         "--peers: no unit 'Nowhere' in the file"),
        (["--peers", "Example city B"], "--peers needs --city"),
    ):
        result = citybench_score(*shipped(tmp_path), *extra)
        assert result.returncode == 1, result.stdout
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert not (tmp_path / "out.csv").exists()
