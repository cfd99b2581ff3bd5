"""Query results as plain Python, for the reads that must start fast (`citybench compare`
imports no pandas): a result's columns as numpy arrays, or its rows as dicts.

DuckDB's fetchnumpy gives a column with NULLs as a masked array; every such column is made
plain here, in one place: numbers become float with NaN for NULL (as pandas' .df() makes
them), anything else an object array with None.
"""

from __future__ import annotations

import numpy as np

from warehouse.connect import Connection

Columns = dict[str, np.ndarray]


def columns(con: Connection, sql: str, parameters: dict | None = None) -> Columns:
    """The result of `sql`, column by column (every array the same length)."""
    return {name: _plain(values) for name, values in
            con.execute(sql, parameters or {}).fetchnumpy().items()}


def rows(con: Connection, sql: str, parameters: dict | None = None) -> list[dict]:
    """The result of `sql`, one dict per row (None for NULL)."""
    cursor = con.execute(sql, parameters or {})
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _plain(values: np.ndarray) -> np.ndarray:
    if not isinstance(values, np.ma.MaskedArray):
        return values
    if values.dtype.kind in "iuf":
        return values.astype(float).filled(np.nan)
    plain = values.data.astype(object)
    plain[np.ma.getmaskarray(values)] = None
    return plain
