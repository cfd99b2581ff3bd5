"""City-network memberships from ClimActor's real tables, read in place: both published shapes
(0/1 columns, ';'-separated lists), cities only, every label of a city accounted for."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from flows.sources.base import Extracted, ParseError, Registry
from flows.sources.memberships import (
    COUNTRY_DICT,
    ROSTERS,
    ClimActor,
    network_names,
    read_roster,
    resolve_cities,
)
from flows.transport import MirrorTransport, mirror_path
from tests.conftest import SHARED, citybench, cli_env, query
from tests.http_server import FileServer
from warehouse.validation import split_valid

CLIMACTOR = SHARED / "opendata" / "climactor"
PUBLISHED_FILES = {url: CLIMACTOR / name for name, url in ClimActor.urls.items()}
pytestmark = pytest.mark.skipif(not CLIMACTOR.is_dir(),
                                reason="../shared/opendata/climactor absent")
SEPT2020, DEC2022 = ROSTERS


def _bytes(name: str) -> bytes:
    return (CLIMACTOR / name).read_bytes()


def _pandas_view(roster) -> pd.DataFrame:
    """The table as pandas reads it, independently of our parser (a few bytes of the Dec 2022
    file are not UTF-8)."""
    text = _bytes(roster.file).decode("utf-8", errors="replace")
    return pd.read_csv(io.StringIO(text))


@pytest.fixture(scope="module")
def parsed():
    extracted = Extracted({name: _bytes(name) for name in ClimActor.urls}, "test",
                          datetime.now(UTC))
    return ClimActor().parse(extracted)


@pytest.fixture(scope="module")
def valid(parsed):
    return {name: split_valid(frame, ClimActor.raw_models[name]) for name, frame in
            parsed.items()}


@pytest.fixture(scope="module")
def registry(published):
    con = duckdb.connect(str(published), read_only=True)
    try:
        return Registry.read(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def conformed(valid, registry):
    return ClimActor().conform({name: o.valid for name, o in valid.items()}, registry)


def test_every_actor_and_label_of_both_shapes_is_read(parsed):
    sept, dec = _pandas_view(SEPT2020), _pandas_view(DEC2022)
    actors, labels = parsed["actors"], parsed["labels"]
    assert (actors["dataset_id"] == SEPT2020.dataset_id).sum() == len(sept) == 10716
    assert (actors["dataset_id"] == DEC2022.dataset_id).sum() == len(dec) == 14706
    networks = sept.columns[14:]  # after the 14 context columns ClimActor documents
    assert (labels["dataset_id"] == SEPT2020.dataset_id).sum() == sept[networks].eq(1).sum().sum()
    listed = dec["initiatives_committed"].dropna().str.split(";").map(
        lambda items: {i.strip() for i in items} - {"", "NA"})
    assert (labels["dataset_id"] == DEC2022.dataset_id).sum() == listed.map(len).sum()
    assert any("not UTF-8" in note for note in parsed["notes"]["note"])


def test_the_two_shapes_of_one_table_agree():
    """The Sept 2020 file carries both shapes: its 0/1 columns and its own list column."""
    as_columns = read_roster(_bytes(SEPT2020.file), SEPT2020)[1]
    as_list = read_roster(_bytes(SEPT2020.file),
                          replace(SEPT2020, list_column="initiatives_committed"))[1]
    pairs = set(zip(as_columns["line"], as_columns["label"], strict=True))
    # the one network column without a name ('<NA>') is the only difference
    unnamed = {(line, label) for line, label in pairs if label == ""}
    assert len(unnamed) == 3
    assert pairs - unnamed == set(zip(as_list["line"], as_list["label"], strict=True))


def test_known_actors_read_back(parsed):
    actors = parsed["actors"].set_index(["dataset_id", "line"])
    labels = parsed["labels"]
    athens = actors.loc[(DEC2022.dataset_id, 894)]
    assert (athens["name"], athens["iso"], athens["entity_type"]) == ("Athens", "GRC", "City")
    assert float(athens["latitude"]) == pytest.approx(37.9841493)
    assert set(labels[(labels["dataset_id"] == DEC2022.dataset_id)
                      & (labels["line"] == 894)]["label"]) == {
        "CDPJRC2022", "C40Cities2022", "CDPCities2022", "GCoMEuropeanCommission2021",
        "GCoM2022", "Race to Zero"}
    assert network_names("Sveriges Ekokommuner,EuroCities") == ["Sveriges Ekokommuner",
                                                                "EuroCities"]
    assert network_names("http://www.robinchapple.com/x.pdf") == []


def test_malformed_cells_are_rejected_rows_not_a_failure(valid):
    # the '<NA>' column's three memberships have no network name; one actor's longitude is 2017
    assert valid["labels"].rejected_rows == 3
    assert valid["actors"].rejected_rows == 1
    assert valid["actors"].rejected["value"].tolist() == ["2017"]


def test_every_label_of_a_city_is_a_membership_or_an_unresolved_city(valid, conformed,
                                                                     registry):
    actors, labels = valid["actors"].valid, valid["labels"].valid
    key = actors["dataset_id"] + " line " + actors["line"].astype(str)
    is_city = actors["entity_type"].str.casefold().eq("city").fillna(False)
    cities = actors[is_city].set_index(key[is_city])
    labelled = labels.assign(key=labels["dataset_id"] + " line " + labels["line"].astype(str),
                             network=labels["label"].map(network_names)).explode("network")
    labelled = labelled.dropna(subset=["network"])
    city_labels = labelled[labelled["key"].isin(cities.index)]
    assert len(labelled) > len(city_labels)  # regions' memberships are left out
    unresolved = set(conformed.unresolved["key"])
    assert unresolved <= set(city_labels["key"])
    verdicts = resolve_cities(cities, valid["country_names"].valid, registry)
    resolved = verdicts[verdicts["status"] == "matched"]
    assert set(city_labels["key"]) == (set(resolved.index) & set(city_labels["key"])) | unresolved
    expected = city_labels.merge(resolved[["city_id"]], left_on="key", right_index=True)
    period = expected["dataset_id"].map({r.dataset_id: r.period for r in ROSTERS})
    expected = set(zip("climactor:" + expected["network"], expected["city_id"], period,
                       strict=True))
    membership = conformed.membership
    assert set(zip(membership["network_id"], membership["city_id"], membership["period"],
                   strict=True)) == expected
    assert len(membership) == len(expected)
    assert set(membership["value"]) == {1.0}
    assert conformed.unresolved["reason"].str.len().gt(0).all()


def test_networks_keep_their_published_names(conformed, registry):
    network = conformed.network.set_index("network_id")
    assert {"climactor:C40Cities2019", "climactor:EuroCities", "climactor:NAZCA",
            "climactor:ICLEI - Local Governments for Sustainability"} <= set(network.index)
    assert set(network["kind"]) == {"city-network"}
    assert set(conformed.membership["network_id"]) <= set(network.index)
    members = conformed.membership
    athens = registry.cities[(registry.cities["name"] == "Athens")
                             & (registry.cities["country_iso2"] == "GR")]["city_id"].item()
    of_athens = members[members["city_id"] == athens]
    assert {("climactor:C40Cities2019", 2020), ("climactor:C40Cities2022", 2022)} <= set(
        zip(of_athens["network_id"], of_athens["period"], strict=True))


def test_c40_cities_are_loaded_or_reported(conformed):
    """The 95 C40Cities2019 cities of the Sept 2020 table: each a membership or reported."""
    sept = _pandas_view(SEPT2020)
    c40 = sept[sept["C40Cities2019"].eq(1)]
    assert set(c40["entity_type"]) == {"City"} and len(c40) == 95
    keys = {f"{SEPT2020.dataset_id} line {i + 2}" for i in c40.index}  # line 1 is the header
    reported = keys & set(conformed.unresolved["key"])
    members = conformed.membership
    loaded = members[(members["network_id"] == "climactor:C40Cities2019")
                     & (members["period"] == SEPT2020.period)]
    assert len(loaded) + len(reported) == 95
    assert len(loaded) >= 90


def test_a_country_name_stands_in_for_a_missing_code(valid, registry):
    actors = valid["actors"].valid
    la = actors[(actors["dataset_id"] == SEPT2020.dataset_id)
                & (actors["name"] == "Los Angeles, CA")]
    assert la["country"].item() == "United States of America"  # not GeoNames' name
    with_code = resolve_cities(la.set_index(pd.Index(["la"])), valid["country_names"].valid,
                               registry)
    no_code = resolve_cities(la.assign(iso=None).set_index(pd.Index(["la"])),
                             valid["country_names"].valid, registry)
    assert no_code.loc["la", "city_id"] == with_code.loc["la", "city_id"]
    assert "country inferred" not in no_code.loc["la", "method"]


# --- damaged files ------------------------------------------------------------------------


def _cut(content: bytes, at: int) -> tuple[bytes, int]:
    return content[:at], content[:at].count(b"\n") + 1


def test_a_truncated_table_is_refused_at_its_last_line():
    content = _bytes(DEC2022.file)
    # inside the quoted name that opens a line: an unterminated quoted field; then just after
    # that name: a record of two fields
    inside = content.index(b'\n"', len(content) // 2) + 4
    after_name = content.index(b'",', inside) + 2
    for at, expected in ((inside, "well-formed CSV"), (after_name, "14 fields")):
        cut, line = _cut(content, at)
        with pytest.raises(ParseError) as refused:
            read_roster(cut, DEC2022)
        assert str(refused.value).startswith(f"{DEC2022.file}, line {line}: expected")
        assert expected in str(refused.value)


def test_garbled_tables_are_refused_naming_the_position():
    lines = _bytes(SEPT2020.file).split(b"\n")
    extra_field = b"\n".join([*lines[:99], lines[99] + b",1", *lines[100:]])
    with pytest.raises(ParseError, match=rf"^{SEPT2020.file}, line 100: expected 55 fields, "
                                         "found '56 fields"):
        read_roster(extra_field, SEPT2020)
    renamed = b"\n".join([lines[0].replace(b"name,iso,", b"name,iso3,", 1), *lines[1:]])
    with pytest.raises(ParseError, match=rf"^{SEPT2020.file}, line 1: expected the columns "
                                         ".*found 'no iso'"):
        read_roster(renamed, SEPT2020)
    with pytest.raises(ParseError, match=rf"^{DEC2022.file}, byte \d+: expected UTF-8 text"):
        read_roster(_bytes(DEC2022.file).decode("utf-8", "replace").encode("utf-16"), DEC2022)


def test_a_bad_membership_cell_is_a_rejected_row():
    lines = _bytes(SEPT2020.file).decode().split("\n")
    fields = lines[1].split(",")
    assert lines[0].split(",")[15] == "C40"
    fields[15] = "2"  # a 0/1 cell holding 2
    damaged = "\n".join([lines[0], ",".join(fields), *lines[2:]]).encode()
    labels = read_roster(damaged, SEPT2020)[1]
    outcome = split_valid(labels, ClimActor.raw_models["labels"])
    assert outcome.rejected_rows == 4  # the three unnamed-column rows and this one
    assert "2" in set(outcome.rejected["value"])


# --- through the transports ---------------------------------------------------------------


def test_the_mirror_serves_the_publishers_urls(tmp_path):
    for url, path in PUBLISHED_FILES.items():
        target = mirror_path(tmp_path, url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    extracted = ClimActor().extract(MirrorTransport(tmp_path))
    assert extracted.files == {name: _bytes(name) for name in ClimActor.urls}
    assert COUNTRY_DICT in extracted.files


def test_refresh_over_http_loads_memberships(published, prefect_home, tmp_path, conformed):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(published, db)
    with FileServer(CLIMACTOR) as server:
        config = tmp_path / "citybench.toml"
        config.write_text("[sources.climactor.urls]\n" + "".join(
            f'"{name}" = "{server.url}/files/{name}"\n' for name in ClimActor.urls))
        run = citybench("refresh", "--source", "climactor", "--db", str(db),
                        env=cli_env(prefect_home, CITYBENCH_CONFIG=str(config)))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    held = query(db, "SELECT period, count(*) FROM membership WHERE source_id = 'climactor' "
                     "GROUP BY period ORDER BY period")
    members = conformed.membership
    assert held == [(r.period, int((members["period"] == r.period).sum())) for r in ROSTERS]
    reported = query(db, "SELECT count(*) FROM rejected WHERE source_id = 'climactor' "
                         "AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(conformed.unresolved)
    assert f"climactor: {len(members):,} rows held" in run.stdout
