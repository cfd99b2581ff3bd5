"""OECD functional urban areas from csvfilewithlabels responses made here (invented values; see
tests/data/oecd/README.md): what is read, how areas become cities, the rate limit, and broken
responses."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import UTC, datetime
from urllib.parse import urlsplit

import duckdb
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.oecd import DENSITY, ECONOMY, POPULATION, Oecd
from flows.transport import FetchFailed, HostLimit, HttpTransport, mirror_path
from tests.conftest import ROOT, citybench, cli_env
from tests.http_server import FileServer

DATA = ROOT / "tests" / "data" / "oecd"
FILES = {POPULATION: "fua-population.csv", DENSITY: "fua-density.csv", ECONOMY: "fua-economy.csv"}
PUBLISHED_FILES = {Oecd.urls[name]: DATA / file for name, file in FILES.items()}
LOADED = {  # dataflow -> (MEASURE, UNIT_MEASURE) pairs the source loads
    POPULATION: {("POP", "PS")},
    DENSITY: {("POP_DEN", "PS_KM2")},
    ECONOMY: {("GDP", "USD_PPP"), ("GDP", "USD_PPP_PS")},
}


def _rows(name):
    with (DATA / FILES[name]).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _expected_values(name):
    """Rows the source should load, counted from the file itself."""
    return [
        r for r in _rows(name)
        if (r["MEASURE"], r["UNIT_MEASURE"]) in LOADED[name] and r["REF_AREA"].endswith("F")
        and r.get("AGE", "_T") == "_T" and r.get("SEX", "_T") == "_T" and r["OBS_VALUE"] != ""
    ]


def _mirror(tmp_path):
    root = tmp_path / "mirror"
    for url, path in PUBLISHED_FILES.items():
        target = mirror_path(root, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    return root


def _extracted(**replaced):
    files = {name: (DATA / file).read_bytes() for name, file in FILES.items()}
    return Extracted({**files, **replaced}, "test", datetime.now(UTC))


@pytest.fixture(scope="module")
def parsed():
    return Oecd().parse(_extracted())


@pytest.fixture(scope="module")
def conformed(parsed, published):
    con = duckdb.connect(str(published), read_only=True)
    registry = Registry.read(con)
    con.close()
    frames = {name: Oecd.raw_models[name].validate(f) for name, f in parsed.items()}
    return Oecd().conform(frames, registry)


def test_every_fua_value_of_the_loaded_measures_is_read(parsed):
    values = parsed["values"]
    for name in FILES:
        assert (values["dataflow"] == name).sum() == len(_expected_values(name))
    assert len(Oecd.raw_models["values"].validate(values)) == len(values)
    assert parsed["datasets"]["title"].tolist() == [
        "Population by age and sex", "Population density", "Economy - FUAs"]
    assert not values["code"].str.endswith("C").any()  # cores are not loaded


def test_values_read_back_with_flags_units_and_missing_left_out(conformed):
    aliases = conformed.city_alias.set_index("alias")["city_id"]
    observation = conformed.observation.assign(
        code=lambda f: f["city_id"].map({v: k for k, v in aliases.items()})
    ).set_index(["code", "indicator_id", "period"])
    assert observation.loc[("DEU01F", "fua_population", 2021), "value"] == 5_100_000
    assert observation.loc[("DEU02F", "fua_population", 2021), "flag"] == "e"
    assert observation.loc[("DEU01F", "fua_gdp", 2019), "value"] == 255_000.0 * 1e6
    assert observation.loc[("DEU01F", "fua_gdp", 2020), "flag"] == "p"
    assert observation.loc[("AT001F", "fua_population_density", 2020), "value"] == 967
    assert ("JPN01F", "fua_population", 2019) not in observation.index  # missing, not zero
    assert ("JPN01F", "fua_population", 2020) in observation.index


def test_areas_resolve_to_cities_or_are_reported(conformed, published):
    aliases = conformed.city_alias
    assert (aliases["scheme"] == "oecd").all()
    assert sorted(aliases["alias"]) == ["AT001F", "DEU01F", "DEU02F", "JPN01F", "MEX01F",
                                        "USA01F"]
    con = duckdb.connect(str(published), read_only=True)
    names = dict(con.execute(
        "SELECT city_id, name FROM city WHERE list_contains(?, city_id)",
        [aliases["city_id"].tolist()]).fetchall())
    con.close()
    resolved = {a: names[c] for a, c in zip(aliases["alias"], aliases["city_id"], strict=True)}
    assert resolved["AT001F"] == "Vienna" and resolved["DEU01F"] == "Berlin"
    unresolved = conformed.unresolved.set_index("key")
    assert set(unresolved.index) == {"USA02F", "CAN99F", "ZZ001F"}
    assert unresolved.loc["USA02F", "status"] == "duplicate"
    assert "USA01F" in unresolved.loc["USA02F", "reason"]
    assert unresolved.loc["CAN99F", "status"] == "unmatched"
    assert "no country" in unresolved.loc["ZZ001F", "reason"]
    # every value of a resolved area is an observation, nothing else
    loaded = sum(
        1 for name in FILES for r in _expected_values(name) if r["REF_AREA"] in resolved
    )
    assert len(conformed.observation) == loaded


def test_one_request_per_dataflow_and_the_limit_holds_across_runs(tmp_path, monkeypatch):
    from flows.refresh import HOST_LIMITS, make_transport

    assert {urlsplit(url).hostname for url in Oecd.urls.values()} == {"sdmx.oecd.org"}
    publisher = make_transport(tmp_path / "w.duckdb", None)
    assert publisher.limits["sdmx.oecd.org"] == HOST_LIMITS["sdmx.oecd.org"]
    publisher.close()
    with FileServer(DATA) as server:
        config = tmp_path / "citybench.toml"
        config.write_text("[sources.oecd.urls]\n" + "".join(
            f'"{name}" = "{server.url}/files/{file}"\n' for name, file in FILES.items()))
        monkeypatch.setenv("CITYBENCH_CONFIG", str(config))
        # the OECD's allowance shrunk to one refresh's worth of requests
        limits = {"127.0.0.1": HostLimit(requests=len(FILES), per_seconds=3600)}
        first = HttpTransport(tmp_path / "cache", limits=limits, sleep=lambda s: None)
        Oecd().extract(first)
        first.close()
        assert len(server.requests) == len(FILES)
        later = HttpTransport(tmp_path / "cache", limits=limits, sleep=lambda s: None)
        with pytest.raises(FetchFailed, match=f"allows {len(FILES)} requests per 3600 s"):
            Oecd().extract(later)
        later.close()
    assert len(server.requests) == len(FILES)  # the refused run sent nothing


def _broken(name, content):
    return Oecd().parse(_extracted(**{name: content}))


def test_truncated_garbled_or_unlabelled_responses_name_file_and_line():
    content = (DATA / FILES[POPULATION]).read_bytes()
    lines = content.count(b"\n", 0, len(content) // 2) + 1
    with pytest.raises(ParseError, match=rf"^{re.escape(POPULATION)}, line {lines}: expected 28"):
        _broken(POPULATION, content[: len(content) // 2])
    garbled = content[:500] + b"\xff" + content[501:]
    with pytest.raises(ParseError, match=r", byte 500: expected UTF-8 text"):
        _broken(POPULATION, garbled)
    economy = (DATA / FILES[ECONOMY]).read_text()
    with pytest.raises(ParseError, match=r"line 2, column OBS_VALUE: expected a number"):
        _broken(ECONOMY, economy.replace(",255000.0,", ",2x5000,", 1).encode())
    with pytest.raises(ParseError, match=r"line 1: expected the label column after REF_AREA"):
        _broken(ECONOMY, economy.replace("Reference area,", "", 1).encode())
    with pytest.raises(ParseError, match=r"line \d+: expected well-formed CSV"):
        _broken(DENSITY, (DATA / FILES[DENSITY]).read_bytes().replace(b",Wien,", b',"Wien,', 1))


def test_refresh_from_a_mirror_loads_the_source(published, prefect_home, tmp_path, conformed):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    result = citybench("refresh", "--source", "oecd", "--mirror", str(_mirror(tmp_path)),
                       "--db", str(db), env=cli_env(prefect_home))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    held = con.execute("SELECT count(*) FROM observation WHERE source_id = 'oecd'").fetchone()[0]
    codes = con.execute("SELECT count(*) FROM city_alias WHERE scheme = 'oecd'").fetchone()[0]
    con.close()
    assert (held, codes) == (len(conformed.observation), len(conformed.city_alias))
