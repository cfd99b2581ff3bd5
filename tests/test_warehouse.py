"""The warehouse layer on real DuckDB files: migrations, contracts, change-only syncing."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from warehouse import integrity, schemas
from warehouse.migrate import available, migrate
from warehouse.sync import sync_table
from warehouse.tables import WRITTEN
from warehouse.validation import FrameRejected, split_valid

DESIGN_TABLES = {"city", "city_alias", "source", "indicator", "observation", "load", "rejected",
                 "score_run", "score", "country", "publication", "dataset", "network",
                 "membership", "city_link"}


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(connection)
    yield connection
    connection.close()


def test_migrations_create_the_design_tables_once(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    first = migrate(connection)
    assert first == [name for _, name, _ in available()]
    assert migrate(connection) == []  # already applied: nothing runs twice
    tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
    assert tables >= DESIGN_TABLES
    connection.close()


def _observations(values: dict[str, float], source="s1") -> pd.DataFrame:
    return pd.DataFrame({
        "city_id": list(values), "indicator_id": "population", "period": 2025,
        "source_id": source, "value": list(values.values()), "flag": None, "dataset_id": "d1",
    })


KEY = ["city_id", "indicator_id", "period", "source_id"]


def test_sync_inserts_updates_and_deletes_only_what_changed(con):
    first = sync_table(con, "observation", _observations({"gn:1": 1.0, "gn:2": 2.0}).assign(
        load_id=1), KEY, owner=("source_id", "s1"), stamp=("load_id", 1))
    assert (first.inserted, first.updated, first.deleted) == (2, 0, 0)
    again = sync_table(con, "observation", _observations({"gn:2": 2.5, "gn:3": 3.0}).assign(
        load_id=2), KEY, owner=("source_id", "s1"), stamp=("load_id", 2))
    assert (again.inserted, again.updated, again.deleted) == (1, 1, 1)
    rows = con.execute("SELECT city_id, value, load_id FROM observation ORDER BY 1").fetchall()
    assert rows == [("gn:2", 2.5, 2), ("gn:3", 3.0, 2)]
    same = sync_table(con, "observation", _observations({"gn:2": 2.5, "gn:3": 3.0}).assign(
        load_id=3), KEY, owner=("source_id", "s1"), stamp=("load_id", 3))
    assert same.changed == 0
    assert con.execute("SELECT max(load_id) FROM observation").fetchone() == (2,)


def test_sync_leaves_other_owners_rows_alone(con):
    sync_table(con, "observation", _observations({"gn:1": 1.0}, "s1"), KEY,
               owner=("source_id", "s1"), stamp=("load_id", 1))
    sync_table(con, "observation", _observations({"gn:9": 9.0}, "s2"), KEY,
               owner=("source_id", "s2"), stamp=("load_id", 2))
    emptied = sync_table(con, "observation", _observations({}, "s2"), KEY,
                         owner=("source_id", "s2"), stamp=("load_id", 3))
    assert emptied.deleted == 1
    assert con.execute("SELECT city_id, source_id FROM observation").fetchall() == [("gn:1", "s1")]


def test_split_valid_keeps_good_rows_and_explains_the_bad():
    frame = _observations({"gn:1": 1.0, "gn:2": float("inf"), "x:3": 3.0, "gn:4": 4.0})
    outcome = split_valid(frame, schemas.ObservationTable)
    assert list(outcome.valid["city_id"]) == ["gn:1", "gn:4"]
    assert outcome.rejected_rows == 2
    reasons = dict(zip(outcome.rejected["row_number"], outcome.rejected["reason"], strict=True))
    assert "finite" in reasons[2]
    assert reasons[3] == "city_id = 'x:3': expected a city id such as gn:2950159"


def test_split_valid_refuses_a_frame_missing_a_column():
    frame = _observations({"gn:1": 1.0}).drop(columns="value")
    with pytest.raises(FrameRejected, match="value"):
        split_valid(frame, schemas.ObservationTable)


def test_duplicated_keys_are_rejected_rows():
    frame = pd.concat([_observations({"gn:1": 1.0}), _observations({"gn:1": 2.0})])
    outcome = split_valid(frame, schemas.ObservationTable)
    assert outcome.rejected_rows == 2 and outcome.valid.empty


def test_integrity_names_orphans(con):
    con.execute(
        "INSERT INTO observation VALUES ('gn:1', 'population', 2025, 's1', 1, NULL, 1, 'd')"
    )
    con.execute("INSERT INTO membership VALUES ('n:firm', 'gn:2', 2025, 3, 's1', 'd', 1)")
    con.execute("INSERT INTO city_link VALUES ('twinning', 'gn:1', 'gn:2', 2025, 1, 's1', 'd', 1)")
    problems = integrity.violations(con)
    assert "1 observations of unknown cities" in problems
    assert "1 observations of unknown indicators" in problems
    assert "1 observations of unknown datasets" in problems
    assert "1 memberships of unknown cities" in problems
    assert "1 memberships of unknown networks" in problems
    assert "1 links of unknown cities" in problems


# --- what tables.py says of each table holds in the migrated schema --------------------------
def _columns(con, table: str) -> set[str]:
    return {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}


def _primary_key(con, table: str) -> tuple[str, ...]:
    (constraint,) = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]).fetchone()
    return tuple(constraint)


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_each_tables_key_contract_and_references_match_its_schema(con, name):
    table = WRITTEN[name]
    columns = _columns(con, name)
    assert _primary_key(con, name) == table.key
    contract = set(table.model.to_schema().columns)
    # written by the load itself, not by the source's frame: the load id and retrieval time
    assert contract <= columns and columns - contract <= {"load_id", "retrieved_at",
                                                          "created_at"}
    for ref in table.references:
        assert {ref.column, *ref.also} <= columns
        assert {ref.target, *ref.also} <= _columns(con, ref.table)
    if table.owner:
        assert table.owner in columns
    assert ("load_id" in columns) == table.fact
