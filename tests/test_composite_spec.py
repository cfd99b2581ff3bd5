"""Framework, method and data files the composite engine refuses, and how it says so: one line
naming the file and the key, since the people who write these files fix them from that line.
Every expected message is written out here in full (or as a precise pattern)."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from indicators.composite.build import build_frame
from indicators.composite.data import long_to_wide
from indicators.composite.spec import SpecError, load_framework, load_method

FRAMEWORK = "city.toml"
METHOD = "run.method.toml"
DATA = "cities.csv"


def one_line(call) -> str:
    with pytest.raises(SpecError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def framework_error(text: str) -> str:
    return one_line(lambda: load_framework(textwrap.dedent(text), FRAMEWORK))


def method_error(text: str) -> str:
    return one_line(lambda: load_method(textwrap.dedent(text), METHOD))


SIMPLE = """
id = "idx"
[[indicator]]
id = "x"
{x}
[[indicator]]
id = "y"
"""


def simple(x: str = "") -> str:
    return SIMPLE.format(x=x)


# framework -------------------------------------------------------------------------------


def test_a_valid_framework_reads_as_written():
    fw = load_framework(
        textwrap.dedent(
            """
            id = "idx"
            name = "Liveability"
            groups = ["country"]
            [[aggregate]]
            id = "A"
            weight = 2
            [[indicator]]
            id = "x"
            parent = "A"
            direction = -1
            denominator = "population"
            scale = 1000
            target = 5.5
            unit = "jobs"
            [[indicator]]
            id = "y"
            """
        ),
        FRAMEWORK,
    )
    assert (fw.id, fw.name, fw.groups, fw.source) == ("idx", "Liveability", ("country",), FRAMEWORK)
    assert fw.indicators == ["x", "y"]
    assert fw.aggregates == ["A", "idx"]
    x = fw.nodes["x"]
    assert (x.parent, x.direction, x.denominator, x.scale, x.target, x.unit, x.weight) == (
        "A", -1, "population", 1000.0, 5.5, "jobs", 1.0
    )
    assert fw.nodes["y"].parent == "idx" and fw.nodes["A"].weight == 2.0
    assert fw.children("idx") == ["A", "y"]


CYCLE = """
id = "idx"
[[aggregate]]
id = "A"
parent = "B"
[[aggregate]]
id = "B"
parent = "A"
[[indicator]]
id = "x"
parent = "A"
[[indicator]]
id = "y"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CYCLE, 'city.toml: aggregate "A".parent: cycle A -> B -> A'),
        (
            'id = "idx"\n[[aggregate]]\nid = "A"\nparent = "A"\n[[indicator]]\nid = "x"\n'
            'parent = "A"',
            'city.toml: aggregate "A".parent: cycle A -> A',
        ),
        (simple('parent = "Z"'), "city.toml: indicator \"x\".parent: no node 'Z'"),
        (
            SIMPLE.replace('id = "y"', 'id = "y"\nparent = "x"').format(x=""),
            "city.toml: indicator \"y\".parent: 'x' is an indicator, which has no children",
        ),
        (
            simple('parent = "A"') + '[[aggregate]]\nid = "A"\n[[aggregate]]\nid = "B"\n',
            'city.toml: aggregate "B": has no children',
        ),
        ('id = "idx"\nname = "Empty"', 'city.toml: index "idx": has no children'),
        (simple('weight = "one"'), 'city.toml: indicator "x".weight: "one" is not a number'),
        (simple("weight = true"), 'city.toml: indicator "x".weight: True is not a number'),
        (simple("weight = -1"), 'city.toml: indicator "x".weight: -1 is negative'),
        (simple("weight = nan"), 'city.toml: indicator "x".weight: nan is not a number'),
        (
            simple("weight = 0").replace('id = "y"', 'id = "y"\nweight = 0'),
            'city.toml: index "idx": children weights sum to 0',
        ),
        (
            simple('parent = "A"') + '[[aggregate]]\nid = "A"\nweight = "heavy"\n',
            'city.toml: aggregate "A".weight: "heavy" is not a number',
        ),
        (simple("direction = 2"), 'city.toml: indicator "x".direction: expected 1 or -1, got 2'),
        (
            simple("direction = true"),
            'city.toml: indicator "x".direction: expected 1 or -1, got True',
        ),
        (
            simple('direction = "-1"'),
            "city.toml: indicator \"x\".direction: expected 1 or -1, got '-1'",
        ),
        (
            simple("wieght = 2"),
            "city.toml: indicator \"x\": unknown key 'wieght'; known: denominator, direction, "
            "id, name, parent, scale, target, unit, weight",
        ),
        (
            simple('parent = "A"') + '[[aggregate]]\nid = "A"\ndirection = -1\n',
            "city.toml: aggregate \"A\": unknown key 'direction'; known: id, name, parent, weight",
        ),
        (
            "indicators = []\n" + simple(),
            "city.toml: unknown key 'indicators'; known: aggregate, description, groups, id, "
            "indicator, name, refresh",
        ),
        (simple().replace('id = "y"', 'id = "x"'), 'city.toml: indicator "x".id: defined twice'),
        (
            simple().replace('id = "y"', 'name = "y"'),
            "city.toml: indicator #2.id: expected a non-empty text, got None",
        ),
        ('name = "no id"\n[[indicator]]\nid = "x"', "city.toml: id: expected a non-empty text, "
         "got None"),
        (
            simple("denominator = 5"),
            'city.toml: indicator "x".denominator: expected a non-empty text, got 5',
        ),
        (simple('target = "high"'), 'city.toml: indicator "x".target: "high" is not a number'),
        (simple("scale = [1]"), 'city.toml: indicator "x".scale: [1] is not a number'),
        ('groups = "country"\n' + simple(), "city.toml: groups: expected a list of column names"),
        ('id = "idx"\nindicator = { id = "x" }', "city.toml: indicator: expected [[indicator]] "
         "tables"),
    ],
)
def test_framework_errors(text, message):
    assert framework_error(text) == message


def test_invalid_toml_names_the_file_and_the_line():
    message = framework_error(simple("weight = ").replace("[[indicator]]\nid = \"y\"", ""))
    assert re.fullmatch(r"city\.toml: not valid TOML: .+ \(at line 5, column \d+\)", message)
    message = method_error('[normalise\nmethod = "minmax"')
    assert re.fullmatch(
        r"run\.method\.toml: not valid TOML: .+ \(at line 1, column \d+\)", message
    )


# method ----------------------------------------------------------------------------------


NORMALISATIONS = (
    "minmax, zscore, rank, percentile_rank, distance_to_max, distance_to_target, "
    "fraction_of_max, goalposts, none"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[normalise]\nmethod = "minmaxx"',
            f"run.method.toml: normalise.method: unknown 'minmaxx'; known: {NORMALISATIONS}",
        ),
        (
            '[normalise.indicator.x]\nmethod = "z"',
            f"run.method.toml: normalise.indicator.x.method: unknown 'z'; known: {NORMALISATIONS}",
        ),
        (
            '[impute]\nmethod = "average"',
            "run.method.toml: impute.method: unknown 'average'; known: none, mean, median, "
            "group_mean, group_median, locf",
        ),
        (
            '[treat]\nmethod = "trim"',
            "run.method.toml: treat.method: unknown 'trim'; known: none, winsorise, log",
        ),
        (
            '[treat]\nfallback = "sqrt"',
            "run.method.toml: treat.fallback: unknown 'sqrt'; known: log, none",
        ),
        (
            '[weights.level.1]\nmethod = "random"',
            "run.method.toml: weights.level.1.method: unknown 'random'; known: manual, equal, pca",
        ),
        (
            '[aggregate.level.2]\nmethod = "median"',
            "run.method.toml: aggregate.level.2.method: unknown 'median'; known: arithmetic, "
            "geometric, harmonic, generalised, copeland",
        ),
        (
            '[screen]\nrule = "some"',
            "run.method.toml: screen.rule: unknown 'some'; known: availability, zeros, "
            "availability_and_zeros",
        ),
        (
            "[normalize]\nmethod = 'minmax'",
            "run.method.toml: unknown key 'normalize'; known: aggregate, denominate, "
            "description, impute, normalise, order, rank, screen, treat, uncertainty, weights",
        ),
        (
            "[normalise]\nragne = [0, 1]",
            "run.method.toml: normalise: unknown key 'ragne'; known: high, indicator, low, mean, "
            "method, pooled, range, sd, target",
        ),
        (
            "[normalise.indicator.x]\nindicator = {}",
            "run.method.toml: normalise.indicator.x: unknown key 'indicator'; known: high, low, "
            "mean, method, pooled, range, sd, target",
        ),
        ("[normalise]\nrange = [0]", "run.method.toml: normalise.range: expected [low, high]"),
        (
            '[normalise]\nrange = "0-100"',
            "run.method.toml: normalise.range: expected [low, high]",
        ),
        (
            "[normalise]\nrange = [100, 0]",
            "run.method.toml: normalise.range: high must be above low",
        ),
        ("[normalise]\nrange = [5, 5]", "run.method.toml: normalise.range: high must be above low"),
        (
            '[normalise.indicator.x]\nrange = ["a", 1]',
            'run.method.toml: normalise.indicator.x.range: "a" is not a number',
        ),
        ("[normalise]\nsd = 0", "run.method.toml: normalise.sd: must be above 0"),
        ('[normalise]\nmean = "ten"', 'run.method.toml: normalise.mean: "ten" is not a number'),
        ("[normalise]\npooled = 1", "run.method.toml: normalise.pooled: expected true or false, "
         "got 1"),
        (
            '[screen]\nenabled = "false"',
            "run.method.toml: screen.enabled: expected true or false, got 'false'",
        ),
        (
            "[screen]\nmin_availability = 90",
            "run.method.toml: screen.min_availability: expected a share in [0, 1], got 90",
        ),
        (
            "[aggregate]\nmin_availability = -0.5",
            "run.method.toml: aggregate.min_availability: expected a share in [0, 1], got -0.5",
        ),
        (
            "[treat]\nmax_points = true",
            "run.method.toml: treat.max_points: expected a whole number >= 0, got True",
        ),
        (
            "[treat]\nmax_points = 2.5",
            "run.method.toml: treat.max_points: expected a whole number >= 0, got 2.5",
        ),
        (
            "[impute]\nwindow = -1",
            "run.method.toml: impute.window: expected a whole number >= 0, got -1",
        ),
        (
            "[weights]\nvalues = { A = \"one\" }",
            'run.method.toml: weights.values.A: "one" is not a number',
        ),
        ("[weights]\nvalues = { A = -2 }", "run.method.toml: weights.values.A: -2 is negative"),
        (
            "[weights.level.2]\nvalues = { A = true }",
            "run.method.toml: weights.level.2.values.A: True is not a number",
        ),
        (
            "[weights]\nvalues = 3",
            "run.method.toml: weights.values: expected a table of node = weight",
        ),
        (
            "[impute]\nindicator = 3",
            "run.method.toml: impute.indicator: expected tables [impute.indicator.X]",
        ),
        (
            "[aggregate]\nlevel = [2]",
            "run.method.toml: aggregate.level: expected tables [aggregate.level.X]",
        ),
        (
            "[normalise.indicator]\nx = 3",
            "run.method.toml: normalise.indicator.x: expected a table",
        ),
        ("normalise = 3", "run.method.toml: normalise: expected a table [normalise]"),
        ('[rank]\ngroups = "country"', "run.method.toml: rank.groups: expected a list of column "
         "names"),
    ],
)
def test_method_errors(text, message):
    assert method_error(text) == message


ORDER_RULE = "run.method.toml: order: each step once, normalise before aggregate (last)"


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ('["normalise", "aggregate", "impute"]', ORDER_RULE),
        ('["impute", "aggregate"]', ORDER_RULE),
        ('["normalise", "normalise", "aggregate"]', ORDER_RULE),
        ("[]", ORDER_RULE),
        (
            '["weights", "normalise", "aggregate"]',
            "run.method.toml: order: unknown step 'weights'; known: denominate, impute, screen, "
            "treat, normalise, aggregate",
        ),
        ('"aggregate"', "run.method.toml: order: expected a list of steps, got 'aggregate'"),
    ],
)
def test_order_errors(order, message):
    assert method_error(f"order = {order}") == message


def test_a_shorter_order_is_fine():
    m = load_method('order = ["impute", "normalise", "aggregate"]\n[impute]\nmethod = "mean"')
    assert m.order == ("impute", "normalise", "aggregate")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("replications = 0", "uncertainty.replications: expected a whole number >= 1"),
        ("replications = true", "uncertainty.replications: expected a whole number >= 1"),
        ("replications = 10.5", "uncertainty.replications: expected a whole number >= 1"),
        ('seed = "x"', "uncertainty.seed: expected a whole number >= 0"),
        ("weights_noise = 1.5", "uncertainty.weights_noise: expected a share in [0, 1)"),
        ("weights_noise = 1", "uncertainty.weights_noise: expected a share in [0, 1)"),
        ('weights_noise = "x"', 'uncertainty.weights_noise: "x" is not a number'),
        (
            'normalise = ["minmax", "rank"]',
            "uncertainty.normalise[1]: expected a table such as { method = ... }",
        ),
        (
            'normalise = "minmax"',
            "uncertainty.normalise: expected a list of tables such as [{ method = ... }]",
        ),
        (
            'normalise = [{ method = "minmax" }, { method = "minmaxx" }]',
            f"uncertainty.normalise[2].method: unknown 'minmaxx'; known: {NORMALISATIONS}",
        ),
        (
            'aggregate = [{ method = "arithmetic" }, { method = "geometric", level = {} }]',
            "uncertainty.aggregate[2]: unknown key 'level'; known: copeland_ties, method, "
            "min_availability, power",
        ),
        (
            "treat = [{ max_points = -1 }, { method = 'none' }]",
            "uncertainty.treat[1].max_points: expected a whole number >= 0, got -1",
        ),
    ],
)
def test_uncertainty_errors(text, message):
    assert method_error(f"[uncertainty]\n{text}") == f"run.method.toml: {message}"


def test_uncertainty_unknown_key():
    message = method_error("[uncertainty]\nruns = 10")
    assert re.fullmatch(r"run\.method\.toml: uncertainty: unknown key 'runs'; known: .+", message)


# the method against the framework, and the data ------------------------------------------


TWO_LEVELS = """
id = "idx"
[[aggregate]]
id = "P"
[[indicator]]
id = "x"
parent = "P"
[[indicator]]
id = "y"
parent = "P"
"""


def build_error(method_text: str, data: pd.DataFrame | None = None, framework: str = TWO_LEVELS,
                **options) -> str:
    fw = load_framework(textwrap.dedent(framework), FRAMEWORK)
    m = load_method(textwrap.dedent(method_text), METHOD)
    if data is None:
        data = pd.DataFrame({"city": ["P", "Q"], "x": [1.0, 2.0], "y": [3.0, 4.0]})
    options = {"unit": "city", "source": DATA} | options
    return one_line(lambda: build_frame(fw, m, data, **options))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[normalise.indicator.Flight]\nmethod = 'rank'",
            'run.method.toml: normalise.indicator.Flight: no indicator "Flight" in city.toml',
        ),
        (
            "[treat.indicator.P]\nmethod = 'none'",
            'run.method.toml: treat.indicator.P: no indicator "P" in city.toml',
        ),
        (
            "[aggregate.level.1]\nmethod = 'geometric'",
            "run.method.toml: aggregate.level.1: city.toml aggregates into levels 2 to 3 only",
        ),
        (
            "[aggregate.level.two]\nmethod = 'geometric'",
            "run.method.toml: aggregate.level.two: city.toml aggregates into levels 2 to 3 only",
        ),
        (
            "[weights.level.3]\nmethod = 'equal'",
            "run.method.toml: weights.level.3: city.toml weighs levels 1 to 2 only",
        ),
        (
            "[weights]\nvalues = { Typo = 2 }",
            'run.method.toml: weights.values.Typo: no node "Typo" in city.toml',
        ),
        (
            "[weights.level.1]\nvalues = { z = 2 }",
            'run.method.toml: weights.level.1.values.z: no node "z" in city.toml',
        ),
        ("[impute]\nmethod = 'group_mean'", "run.method.toml: impute.group: needed by group_mean"),
        (
            "[normalise.indicator.y]\nmethod = 'distance_to_target'",
            'city.toml: indicator "y".target: needed by run.method.toml: normalise.method = '
            '"distance_to_target"',
        ),
    ],
)
def test_method_against_framework_errors(text, message):
    assert build_error(text) == message


def test_overrides_that_name_real_nodes_and_levels_are_used():
    fw = load_framework(textwrap.dedent(TWO_LEVELS), FRAMEWORK)
    m = load_method(
        "[normalise]\nrange = [1, 100]\n"
        "[normalise.indicator.y]\nmethod = 'none'\n[aggregate.level.2]\nmethod = 'harmonic'\n"
        "[weights.level.1]\nvalues = { x = 3 }\n[weights]\nvalues = { P = 1 }",
        METHOD,
    )
    data = pd.DataFrame({"city": ["P", "Q"], "x": [1.0, 2.0], "y": [3.0, 4.0]})
    coin = build_frame(fw, m, data, unit="city")
    # x: min-max 1, 100; y as it is. P = 4 / (3 / x + 1 / y): Q: 4 / (0.03 + 0.25)
    assert coin.frame("Normalised")["y"].tolist() == [3.0, 4.0]
    assert coin.frame("Aggregated").loc["Q", "P"] == pytest.approx(4 / (3 / 100 + 1 / 4))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"city": ["P", "Q"], "x": [1.0, 2.0]},
            "cities.csv: no column 'y', needed by city.toml: indicator \"y\"",
        ),
        (
            {"town": ["P", "Q"], "x": [1.0, 2.0], "y": [1.0, 2.0]},
            "cities.csv: no unit column 'city'",
        ),
        (
            {"city": ["P", "Q"], "x": [1.0, "n/a"], "y": [1.0, 2.0]},
            "cities.csv: column 'x', unit 'Q': 'n/a' is not a number",
        ),
        (
            {"city": ["P", "Q"], "x": [1.0, 2.0], "y": ["1,5", "2"]},
            "cities.csv: column 'y', unit 'P': '1,5' is not a number",
        ),
        (
            {"city": ["P", "P"], "x": [1.0, 2.0], "y": [1.0, 2.0]},
            "cities.csv: unit 'P' appears twice",
        ),
        (
            {"city": [2643743, 2643743], "x": [1.0, 2.0], "y": [1.0, 2.0]},
            "cities.csv: unit 2643743 appears twice",
        ),
        (
            {"city": ["P", "Q"], "x": [1.0, np.inf], "y": [1.0, 2.0]},
            "cities.csv: column 'x', unit 'Q': infinite",
        ),
        (
            {"city": ["P", "Q"], "x": [1.0, 2.0], "y": ["-inf", "2"]},
            "cities.csv: column 'y', unit 'P': infinite",
        ),
    ],
)
def test_data_errors(data, message):
    assert build_error("", pd.DataFrame(data)) == message


DENOMINATED = TWO_LEVELS + 'denominator = "population"\n'


def test_denominator_errors():
    data = pd.DataFrame({"city": ["P", "Q"], "x": [1.0, 2.0], "y": [3.0, 4.0]})
    assert build_error("", data, DENOMINATED) == (
        "cities.csv: no column 'population', needed by city.toml: indicator \"y\".denominator"
    )
    data["population"] = [10.0, np.inf]  # y / inf would be 0, a value that looks real
    assert build_error("", data, DENOMINATED) == (
        "cities.csv: column 'population', unit 'Q': infinite"
    )
    data["population"] = [10.0, "many"]
    assert build_error("", data, DENOMINATED) == (
        "cities.csv: column 'population', unit 'Q': 'many' is not a number"
    )


def test_group_column_missing():
    assert build_error("[rank]\ngroups = ['country']") == "cities.csv: no group column 'country'"
    assert build_error("[impute]\nmethod = 'group_median'\ngroup = 'region'") == (
        "cities.csv: no group column 'region'"
    )


def test_panel_data_errors_name_the_period_and_stay_one_line():
    years = [pd.DataFrame({"city": ["P", "Q"], "year": y, "x": [1.0, 2.0], "y": [3.0, 4.0]})
             for y in (2020, 2021)]
    twice = pd.concat([*years, years[1].iloc[:1]])
    assert build_error("", twice, period="year") == (
        "cities.csv: unit 'P' appears twice in period 2021"
    )
    # frames put together per period repeat their index labels 0, 1, 0, 1
    bad = pd.concat(years)
    bad["x"] = [1.0, 2.0, 3.0, "?"]
    assert bad.index.tolist() == [0, 1, 0, 1]
    assert build_error("", bad, period="year") == (
        "cities.csv: column 'x', unit 'Q': '?' is not a number"
    )


def test_unit_and_period_columns_name_every_row_and_periods_sort():
    fw = load_framework(textwrap.dedent(TWO_LEVELS), FRAMEWORK)
    data = pd.DataFrame({"city": ["P", "Q"], "year": [2020, "2021"], "x": [1.0, 2.0],
                         "y": [1.0, 2.0]})
    assert one_line(lambda: build_frame(fw, load_method(""), data, unit="city", period="year",
                                        source=DATA)) == (
        "cities.csv: column 'year': periods mix numbers and text"
    )
    assert one_line(lambda: build_frame(fw, load_method(""), data.assign(city=["P", None]),
                                        unit="city", source=DATA)) == (
        "cities.csv: column 'city', row 2 of the data: no unit"
    )
    assert one_line(lambda: build_frame(fw, load_method(""), data.iloc[:0], unit="city",
                                        source=DATA)) == "cities.csv: no rows of data"
    assert one_line(lambda: long_to_wide(data, "city", "month", source=DATA)) == (
        "cities.csv: no period column 'month'"
    )


def test_blank_cells_are_missing_values_not_errors():
    fw = load_framework(textwrap.dedent(TWO_LEVELS), FRAMEWORK)
    data = pd.DataFrame({"city": ["P", "Q", "R"], "x": ["1", "", " "], "y": [3.0, None, 5.0]})
    coin = build_frame(fw, load_method(""), data, unit="city")
    raw = coin.frame("Raw")
    assert raw["x"].tolist()[0] == 1.0 and raw["x"].isna().tolist() == [False, True, True]
    assert raw["y"].isna().tolist() == [False, True, False]


def test_long_to_wide_refuses_two_values_for_one_unit_and_period():
    long = pd.DataFrame(
        {"city": ["P", "P", "P"], "year": [2020, 2021, 2021], "indicator": ["x"] * 3,
         "value": [1.0, 2.0, 3.0]}
    )
    message = one_line(lambda: long_to_wide(long, "city", "year"))
    assert re.fullmatch(r"(.+: )?two values for 'P' 'x' in 2021", message), message


def test_a_single_uncertainty_alternative_is_refused():
    text = '[uncertainty]\nweights_noise = 0.1\nnormalise = [{ method = "zscore" }]\n'
    with pytest.raises(SpecError) as raised:
        load_method(text, "m.toml")
    assert str(raised.value) == (
        "m.toml: uncertainty.normalise: give two alternatives or more, or none"
    )
