"""`citybench score`: the composite engine on a file, as a user runs it (the installed
command, in a subprocess): outputs, the steps folder, long and panel data, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from tests.coinr_asem import REFERENCE, expected, framework_toml, method_text, needs_reference
from tests.conftest import ROOT, citybench

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CITYBENCH_"))}

FRAMEWORK = """
id = "liveability"
name = "Liveability"
groups = ["region"]

[[aggregate]]
id = "green"
parent = "liveability"

[[aggregate]]
id = "safe"
parent = "liveability"
weight = 2

[[indicator]]
id = "parks"
parent = "green"

[[indicator]]
id = "trees"
parent = "green"

[[indicator]]
id = "crime"
parent = "safe"
direction = -1
denominator = "population"
scale = 1000
"""

METHOD = """
[normalise]
method = "minmax"
range = [0, 100]

[rank]
groups = ["region"]
"""

WIDE = pd.DataFrame(
    {
        "city": ["Ada", "Bel", "Cor", "Dun"],
        "region": ["north", "north", "south", "south"],
        "population": [1000.0, 2000.0, 4000.0, 500.0],
        "parks": [10.0, 20.0, 30.0, 40.0],
        "trees": [4.0, 1.0, 3.0, 2.0],
        "crime": [5.0, 30.0, 40.0, 1.0],
    }
)


def write(tmp_path, framework=FRAMEWORK, method=METHOD, data: pd.DataFrame | None = None,
          name="data.csv"):
    (tmp_path / "f.toml").write_text(textwrap.dedent(framework))
    (tmp_path / "m.toml").write_text(textwrap.dedent(method))
    data = WIDE if data is None else data
    path = tmp_path / name
    if name.endswith(".xlsx"):
        data.to_excel(path, index=False)
    elif name.endswith(".parquet"):
        data.to_parquet(path)
    else:
        data.to_csv(path, index=False)
    return tmp_path / "f.toml", tmp_path / "m.toml", path


def score(*args):
    return citybench("score", *map(str, args), env=ENV, timeout=120)


def by_hand() -> pd.Series:
    """The liveability index computed here from its definition."""
    crime = -(WIDE["crime"] / WIDE["population"] * 1000)  # per 1,000, lower is better

    def minmax(x):
        return (x - x.min()) / (x.max() - x.min()) * 100

    green = (minmax(WIDE["parks"]) + minmax(WIDE["trees"])) / 2
    safe = minmax(crime)
    return pd.Series(((green + 2 * safe) / 3).to_numpy(), index=WIDE["city"])


@pytest.mark.parametrize("name", ["data.csv", "data.xlsx", "data.parquet"])
def test_scores_a_wide_file_as_computed_by_hand(tmp_path, name):
    framework, method, data = write(tmp_path, name=name)
    out = tmp_path / "out.csv"
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "4 of 4 units scored on liveability" in result.stdout
    table = pd.read_csv(out)
    want = by_hand()
    assert table["unit"].tolist() == want.sort_values(ascending=False).index.tolist()
    np.testing.assert_allclose(table.set_index("unit")["score"], want[table["unit"]], atol=1e-12)
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert set(table.columns) >= {"unit", "rank", "score", "region", "rank_region", "green", "safe"}
    # within each region the better city is first
    for _, region in table.groupby("region"):
        assert sorted(region["rank_region"]) == [1, 2]
        assert region.sort_values("score", ascending=False)["rank_region"].tolist() == [1, 2]


def test_long_data_and_panels(tmp_path):
    rows = []
    for year, shift in ((2020, 0.0), (2021, 5.0)):
        for record in WIDE.to_dict("records"):
            for indicator in ("parks", "trees", "crime", "population"):
                rows.append({"unit": record["city"], "year": year, "indicator": indicator,
                             "value": record[indicator] + (shift if indicator == "parks" else 0),
                             "region": record["region"]})
    framework, method, data = write(tmp_path, data=pd.DataFrame(rows))
    out = tmp_path / "out.csv"
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    assert table.groupby("period").size().to_dict() == {2020: 4, 2021: 4}
    # each year is normalised on its own: a shift of every park value changes no score
    for year in (2020, 2021):
        scores = table[table["period"] == year].set_index("unit")["score"]
        np.testing.assert_allclose(scores[by_hand().index], by_hand(), atol=1e-12)


@needs_reference
def test_asem_through_the_command_with_every_step_written(tmp_path):
    framework = tmp_path / "asem.toml"
    framework.write_text(framework_toml())
    method = tmp_path / "asem.method.toml"
    method.write_text(method_text("01_pipeline") + textwrap.dedent("""
        [uncertainty]
        replications = 200
        weights_noise = 0.2
        aggregate = [{ method = "arithmetic" }, { method = "geometric" }]
        normalise = [
            { method = "minmax", range = [1, 100] }, { method = "zscore", mean = 10, sd = 2 },
        ]
    """))
    out, steps = tmp_path / "asem.csv", tmp_path / "steps"
    result = score("--framework", framework, "--method", method, "--data",
                   REFERENCE / "input" / "ASEM_iData.csv", "--out", out, "--unit", "uCode",
                   "--steps", steps)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out).set_index("unit")
    want = expected("01_pipeline_results_full_scores.csv").set_index("uCode")
    np.testing.assert_allclose(table.loc[want.index, "score"], want["Index"], atol=1e-9)
    np.testing.assert_allclose(table.loc[want.index, "Conn"], want["Conn"], atol=1e-9)
    assert (table.loc[want.index, "rank"] == want["Rank"]).all()
    assert (table["rank_low"] <= table["rank_median"]).all()
    assert (table["rank_median"] <= table["rank_high"]).all()
    for name in ("Raw", "Denominated", "Imputed", "Screened", "Treated", "Normalised"):
        written = pd.read_csv(steps / f"{name}.csv").set_index("unit").drop(columns="period")
        reference = expected(f"01_pipeline_{name}.csv").set_index("uCode")
        np.testing.assert_allclose(
            written.loc[reference.index, reference.columns], reference, atol=1e-9
        )
    sensitivity = pd.read_csv(steps / "sensitivity.csv").set_index("assumption")
    assert set(sensitivity.index) == {"normalise", "aggregate", "weights"}
    assert ((sensitivity["total"] >= -0.05) & (sensitivity["first_order"] <= 1.05)).all()
    assert (steps / "method.toml").read_text() == method.read_text()
    assert "sha256" in (steps / "run.json").read_text()


BAD_FRAMEWORKS = {
    "cycle": (
        FRAMEWORK.replace('id = "green"\nparent = "liveability"', 'id = "green"\nparent = "safe"')
        .replace('id = "safe"\nparent = "liveability"', 'id = "safe"\nparent = "green"'),
        r'f\.toml: aggregate "(green|safe)"\.parent: cycle',
    ),
    "weight": (
        FRAMEWORK.replace("weight = 2", 'weight = "two"'),
        r'f\.toml: aggregate "safe"\.weight: "two" is not a number',
    ),
    "missing indicator": (
        FRAMEWORK + '\n[[indicator]]\nid = "noise"\nparent = "safe"\n',
        r"data\.csv: no column 'noise', needed by f\.toml: indicator \"noise\"",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMEWORKS))
def test_bad_framework_gives_one_line_naming_file_and_key(tmp_path, case):
    text, pattern = BAD_FRAMEWORKS[case]
    framework, method, data = write(tmp_path, framework=text)
    out = tmp_path / "out.csv"
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    import re

    assert re.search(pattern, result.stderr), result.stderr
    assert not out.exists()


def test_bad_method_and_data_files(tmp_path):
    framework, method, data = write(tmp_path, method=METHOD.replace('"minmax"', '"minmaxx"'))
    out = tmp_path / "out.csv"
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "citybench score: m.toml: normalise.method: unknown 'minmaxx'; known: minmax, zscore, "
        "rank, percentile_rank, distance_to_max, distance_to_target, fraction_of_max, "
        "goalposts, none"
    )
    framework, method, data = write(tmp_path, data=WIDE.assign(parks=["1", "x", "3", "4"]))
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "citybench score: data.csv: column 'parks', unit 'Bel': 'x' is not a number"
    )
    (tmp_path / "data.csv").write_bytes(b"\xff\xfe\x00garbage")
    result = score("--framework", framework, "--method", method, "--data", data, "--out", out)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert not out.exists()


def test_an_existing_output_survives_a_failed_run(tmp_path):
    framework, method, data = write(tmp_path)
    out = tmp_path / "out.csv"
    assert score("--framework", framework, "--method", method, "--data", data,
                 "--out", out).returncode == 0
    before = out.read_bytes()
    (tmp_path / "m.toml").write_text("[aggregate]\nmethod = 'median'\n")
    assert score("--framework", framework, "--method", method, "--data", data,
                 "--out", out).returncode == 1
    assert out.read_bytes() == before


def test_score_does_not_import_prefect_or_flows(tmp_path):
    framework, method, data = write(tmp_path)
    code = (
        "import sys; from app.cli import main; "
        f"rc = main(['score', '--framework', {str(framework)!r}, '--method', {str(method)!r}, "
        f"'--data', {str(data)!r}, '--out', {str(tmp_path / 'o.csv')!r}]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'flows'))); "
        "sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")
