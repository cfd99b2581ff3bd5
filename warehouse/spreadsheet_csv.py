"""CSV files that a spreadsheet opens as data, never as formulas. A text cell that begins with
= + - @, a tab or a carriage return is run by Excel, LibreOffice and Google Sheets (CSV
injection), and city, unit and firm names come from users' files: such a cell, and such a
column name, is written with a single quote in front (OWASP's rule), which a spreadsheet shows
and does not run. Numbers are written as they are: a negative number is no formula.

Every CSV that citybench writes from user-derived text goes through `to_csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised_text(value: object) -> object:
    """`value` with a leading quote when it is text a spreadsheet would run; else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells, text index and column names are neutralised."""
    frame = frame.copy()
    for position in range(frame.shape[1]):  # by position: column names may repeat
        if _is_text(frame.iloc[:, position]):
            frame.iloc[:, position] = frame.iloc[:, position].map(neutralised_text)
    frame.columns = _labels(frame.columns)
    frame.index = _labels(frame.index)
    return frame


def _is_text(values: pd.Series | pd.Index) -> bool:
    import pandas as pd  # a frame's caller has it already

    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _labels(labels: pd.Index) -> pd.Index:
    import pandas as pd

    if isinstance(labels, pd.MultiIndex) or not _is_text(labels):
        return labels
    return labels.map(neutralised_text).rename(neutralised_text(labels.name))


def to_csv(table: pd.DataFrame | Sequence[dict], path: Path | None = None, *,
           index: bool = False, columns: Sequence[str] | None = None) -> str | None:
    """`table` as CSV at `path` (or returned as text when `path` is None), neutralised.
    `table`: a frame, or rows (dicts) with their `columns` (the order written; a row's
    missing value, None or NaN, is an empty cell, as a frame writes it)."""
    if hasattr(table, "to_csv"):
        return neutralised(table).to_csv(path, index=index)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([neutralised_text(column) for column in columns])
    writer.writerows([_cell(row.get(column)) for column in columns] for row in table)
    if path is None:
        return text.getvalue()
    Path(path).write_text(text.getvalue(), encoding="utf-8")
    return None


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    return neutralised_text(value)
