"""City-network memberships from ClimActor's real tables, read in place: both published shapes
(0/1 columns, ';'-separated lists), cities only, every label of a city accounted for."""

from __future__ import annotations

import io
from dataclasses import replace

import pandas as pd
import pytest

from flows.sources.climactor_networks import C40, ICLEI, network_of
from flows.sources.memberships import ROSTERS, ClimActor, network_names, read_roster, resolve_cities
from tests.conftest import query
from tests.source_fixtures import CLIMACTOR, needs_sample, sample_fixture
from warehouse.parse_error import ParseError
from warehouse.validation import split_valid

pytestmark = needs_sample("climactor")
SEPT2020, DEC2022 = ROSTERS
# London's networks in ClimActor's two tables, each once: 13 (it was "in 19")
LONDON_NETWORKS = {
    "2050 Pathways Platform", C40, "C40 Clean Bus Declaration/Low emission vehicles",
    "C40 Zero Waste Declaration", "CDP and Joint Research Centre reporting (EU)",
    "CDP cities (climate disclosure)", "Carbon Neutral Cities Alliance",
    "District Energy Accelerator", "Global Covenant of Mayors for Climate & Energy",
    "Megacities Alliance for Water and Climate", "Net Zero Carbon Buildings Commitment",
    "Race to Zero", "UNFCCC Global Climate Action portal (NAZCA)",
}


def _bytes(name: str) -> bytes:
    return (CLIMACTOR / name).read_bytes()


def _pandas_view(roster) -> pd.DataFrame:
    """The table as pandas reads it, independently of our parser (a few bytes of the Dec 2022
    file are not UTF-8)."""
    text = _bytes(roster.file).decode("utf-8", errors="replace")
    return pd.read_csv(io.StringIO(text))


run = sample_fixture("climactor")


def test_every_actor_and_label_of_both_shapes_is_read(run):
    parsed = run.parsed
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


def test_known_actors_read_back(run):
    parsed = run.parsed
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


def test_malformed_cells_are_rejected_rows_not_a_failure(run):
    valid = run.raw
    # the '<NA>' column's three memberships have no network name; one actor's longitude is 2017
    assert valid["labels"].rejected_rows == 3
    assert valid["actors"].rejected_rows == 1
    assert valid["actors"].rejected["value"].tolist() == ["2017"]


def test_every_label_of_a_city_is_a_membership_or_an_unresolved_city(run):
    """Checked on the Sept 2020 table (cities are resolved one table at a time, so its
    verdicts are those of the load)."""
    valid, conformed, registry = run.raw, run.conformed, run.registry
    actors, labels = valid["actors"].valid, valid["labels"].valid
    actors = actors[actors["dataset_id"] == SEPT2020.dataset_id]
    labels = labels[labels["dataset_id"] == SEPT2020.dataset_id]
    key = actors["dataset_id"] + " line " + actors["line"].astype(str)
    is_city = actors["entity_type"].str.casefold().eq("city").fillna(False)
    cities = actors[is_city].set_index(key[is_city])
    labelled = labels.assign(key=labels["dataset_id"] + " line " + labels["line"].astype(str),
                             network=labels["label"].map(network_names)).explode("network")
    labelled = labelled.dropna(subset=["network"])
    read = labelled["network"].map(network_of)  # None: a database, not a network
    labelled = labelled[read.notna()].assign(
        network=read.dropna().str[0], period=read.dropna().str[1].fillna(SEPT2020.period))
    city_labels = labelled[labelled["key"].isin(cities.index)]
    assert len(labelled) > len(city_labels)  # regions' memberships are left out
    unresolved = set(conformed.unresolved["key"]) & set(cities.index)
    assert unresolved <= set(city_labels["key"])
    verdicts = resolve_cities(cities, valid["country_names"].valid, registry)
    resolved = verdicts[verdicts["status"] == "matched"]
    assert set(city_labels["key"]) == (set(resolved.index) & set(city_labels["key"])) | unresolved
    expected = city_labels.merge(resolved[["city_id"]], left_on="key", right_index=True)
    expected = set(zip("climactor:" + expected["network"], expected["city_id"],
                       expected["period"].astype(int), strict=True))
    membership = conformed.membership[conformed.membership["dataset_id"] == SEPT2020.dataset_id]
    assert set(zip(membership["network_id"], membership["city_id"], membership["period"],
                   strict=True)) == expected
    assert len(membership) == len(expected) > 5000
    assert set(conformed.membership["value"]) == {1.0}
    assert conformed.unresolved["reason"].str.len().gt(0).all()


def test_a_network_has_one_readable_name_and_its_editions_are_periods(run):
    conformed, registry = run.conformed, run.registry
    network = conformed.network.set_index("network_id")
    assert {f"climactor:{C40}", "climactor:Eurocities",
            "climactor:UNFCCC Global Climate Action portal (NAZCA)",
            f"climactor:{ICLEI}"} <= set(network.index)
    assert not network["name"].str.contains(r"(?:19|20)\d\d$").any()  # no edition in a name
    assert not network["name"].str.startswith(("GCoM", "DDL")).any()
    assert set(network["kind"]) == {"city-network"}
    assert set(conformed.membership["network_id"]) <= set(network.index)
    members = conformed.membership
    athens = registry.cities[(registry.cities["name"] == "Athens")
                             & (registry.cities["country_iso2"] == "GR")]["city_id"].item()
    of_athens = members[members["city_id"] == athens]
    assert {(f"climactor:{C40}", 2019), (f"climactor:{C40}", 2022)} <= set(
        zip(of_athens["network_id"], of_athens["period"], strict=True))


def test_labels_read_as_a_network_and_an_edition():
    assert network_of("C40Cities2019") == (C40, 2019)
    assert network_of("C40") == (C40, None)  # no year: the release's year is the period
    assert network_of("GCoMEuropeanCommission2021") == (
        "Global Covenant of Mayors for Climate & Energy", 2021)
    assert network_of("CDPCities2018-2019")[1] == network_of("CDPStates&Regions2018-19")[1] == 2019
    assert network_of("ICLEI - Local Governments for Sustainability") == (ICLEI, None)
    assert network_of("DDLNetZeroDB2020") is None  # a database ClimActor read, not a network
    assert network_of("Sveriges Ekokommuner") == ("Sveriges Ekokommuner", None)
    assert network_of("2050 Pathways Platform") == ("2050 Pathways Platform", None)


def test_london_counts_each_network_once(run):
    """London was 'in 19 city networks': C40Cities2019, C40Cities2022, GCoM2022,
    GlobalCovenantofMayors2019, GCoMEuropeanCommission2021 ... each counted as a network."""
    registry, members = run.registry, run.conformed.membership
    london = registry.cities[(registry.cities["name"] == "London")
                             & (registry.cities["country_iso2"] == "GB")]["city_id"].item()
    mine = members[members["city_id"] == london]
    names = set(mine["network_id"].str.removeprefix("climactor:"))
    assert {C40, "Global Covenant of Mayors for Climate & Energy"} <= names
    # C40 listed in 2019 and 2022, one network
    assert set(mine.loc[mine["network_id"] == f"climactor:{C40}", "period"]) >= {2019, 2022}
    assert names == LONDON_NETWORKS


def test_c40_cities_are_loaded_or_reported(run):
    conformed = run.conformed
    """The 95 C40Cities2019 cities of the Sept 2020 table: each a membership or reported."""
    sept = _pandas_view(SEPT2020)
    c40 = sept[sept["C40Cities2019"].eq(1)]
    assert set(c40["entity_type"]) == {"City"} and len(c40) == 95
    keys = {f"{SEPT2020.dataset_id} line {i + 2}" for i in c40.index}  # line 1 is the header
    reported = keys & set(conformed.unresolved["key"])
    members = conformed.membership
    loaded = members[(members["network_id"] == f"climactor:{C40}")
                     & (members["period"] == 2019)
                     & (members["dataset_id"] == SEPT2020.dataset_id)]
    assert len(loaded) + len(reported) == 95
    assert len(loaded) >= 90


def test_a_country_name_stands_in_for_a_missing_code(run):
    valid, registry = run.raw, run.registry
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
    # saved as UTF-16, as spreadsheet programs offer
    utf16 = _bytes(DEC2022.file).decode("utf-8", "replace").encode("utf-16")
    with pytest.raises(ParseError, match=rf"^{DEC2022.file}, byte 3: expected UTF-8 text, "
                                         "found 'a NUL byte'"):
        read_roster(utf16, DEC2022)


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


def test_the_parse_notes_the_bytes_that_are_not_utf8(run):
    notes = run.parsed["notes"]["note"].tolist()
    assert notes == [f"{DEC2022.file}: 6 byte(s) that are not UTF-8 read as U+FFFD"], notes
    assert any(note in run.conformed.notes for note in notes)
    bytes_in = _bytes(DEC2022.file)
    with pytest.raises(ParseError, match=rf"^{DEC2022.file}, byte \d+: expected UTF-8 text, "
                                         r"found '5,006 bytes that are not UTF-8"):
        ClimActor().parse(replace(run.extracted, files={
            **run.extracted.files, DEC2022.file: bytes_in.replace(b"a", b"\xe4", 5000)}))


# --- loaded over HTTP ---------------------------------------------------------------------------


def test_the_load_over_http_holds_the_memberships(run):
    held = query(run.db, "SELECT period, count(*) FROM membership "
                         "WHERE source_id = 'climactor' GROUP BY period ORDER BY period")
    members = run.conformed.membership
    assert held == sorted(members.groupby("period").size().items())
    reported = query(run.db, "SELECT count(*) FROM rejected WHERE source_id = "
                             "'climactor' AND check_name LIKE 'resolve:%'")[0][0]
    assert reported == len(run.conformed.unresolved)
    assert run.report.rows_loaded == len(members)
