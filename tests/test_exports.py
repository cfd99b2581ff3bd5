"""The Downloads page's whole tables (warehouse.exports): written by DuckDB, as CSV that a
spreadsheet opens as data (OWASP's rule for CSV injection, as every CSV citybench writes), and
as Parquet with the values as stored."""

from __future__ import annotations

import csv
import io

import duckdb
import pyarrow.parquet as pq

from tests.conftest import copy_of, query
from warehouse.exports import table_file

NAMES = {"gn:2996944": '=HYPERLINK("http://x","go")', "gn:2988507": "-2+3",
         "gn:3169070": "@me", "gn:2643743": "\tTab"}


def test_a_table_as_csv_quotes_what_a_spreadsheet_would_run_and_parquet_keeps_it(
        published, tmp_path):
    db = copy_of(published, tmp_path)
    con = duckdb.connect(str(db))
    for city_id, name in NAMES.items():
        con.execute("UPDATE city SET name = ? WHERE city_id = ?", [name, city_id])
    con.close()
    rows = list(csv.DictReader(io.StringIO(table_file(db, "city", "csv").decode())))
    assert len(rows) == query(db, "SELECT count(*) FROM city")[0][0]
    by_id = {row["city_id"]: row for row in rows}
    for city_id, name in NAMES.items():
        assert by_id[city_id]["name"] == "'" + name
    # everything else as stored: a negative number is no formula, other names untouched
    assert by_id["gn:2509954"]["name"] == "Valencia"
    assert float(by_id["gn:2988507"]["latitude"]) == query(
        db, "SELECT latitude FROM city WHERE city_id = 'gn:2988507'")[0][0]
    table = pq.read_table(io.BytesIO(table_file(db, "city", "parquet"))).to_pylist()
    assert {r["city_id"]: r["name"] for r in table if r["city_id"] in NAMES} == NAMES
