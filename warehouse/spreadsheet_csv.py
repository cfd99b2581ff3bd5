"""CSV files that a spreadsheet opens as data, never as formulas. A text cell that begins with
= + - @, a tab or a carriage return is run by Excel, LibreOffice and Google Sheets (CSV
injection), and city, unit and firm names come from users' files: such a cell, and such a
column name, is written with a single quote in front (OWASP's rule), which a spreadsheet shows
and does not run. Numbers are written as they are: a negative number is no formula.

Every CSV that citybench writes from user-derived text goes through `to_csv`."""

from __future__ import annotations

from pathlib import Path

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
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


def _labels(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex) or not _is_text(labels):
        return labels
    return labels.map(neutralised_text).rename(neutralised_text(labels.name))


def to_csv(frame: pd.DataFrame, path: Path | None = None, *, index: bool = False) -> str | None:
    """`frame` as CSV at `path` (or returned as text when `path` is None), neutralised."""
    return neutralised(frame).to_csv(path, index=index)
