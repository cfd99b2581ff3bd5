"""The data a composite is built from: a panel of units x indicators over periods, with the
units' group labels and the denominators. Wide frames (a column per indicator) and long frames
(unit, indicator, value) both become one (periods, units, indicators) array."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.composite.spec import Framework, SpecError

SINGLE_PERIOD = "all"


@dataclass(frozen=True)
class Panel:
    values: np.ndarray  # (P, U, I), float, NaN = missing
    units: list[str]
    periods: list
    indicators: list[str]
    denominators: dict[str, np.ndarray]  # name -> (P, U)
    groups: pd.DataFrame  # index = units, one column per group

    def column(self, indicator: str) -> np.ndarray:
        return self.values[..., self.indicators.index(indicator)]


def long_to_wide(
    frame: pd.DataFrame, unit: str, period: str | None, source: str = "data"
) -> pd.DataFrame:
    """unit, [period,] indicator, value (+ unit attributes such as groups) -> one row per unit
    and period, one column per indicator."""
    _check_keys(frame, unit, period, source)
    keys = [unit] + ([period] if period else [])
    duplicated = frame.duplicated([*keys, "indicator"])
    if duplicated.any():
        # as Python values: the message says 2021, not np.int64(2021)
        row = frame.loc[duplicated].iloc[:1].to_dict("records")[0]
        raise SpecError(
            f"{source}: two values for {row[unit]!r} {row['indicator']!r}"
            + (f" in {row[period]!r}" if period else "")
        )
    wide = frame.pivot(index=keys, columns="indicator", values="value")
    attributes = [c for c in frame.columns if c not in (*keys, "indicator", "value")]
    if attributes:
        wide = wide.join(frame.groupby(keys)[attributes].last())
    return wide.reset_index()


def _check_keys(frame: pd.DataFrame, unit: str, period: str | None, source: str) -> None:
    """The unit and period columns exist, name every row, and the periods sort (a blank unit
    would become the unit "nan"; a blank or a text among numbers stops the sort)."""
    if frame.empty:
        raise SpecError(f"{source}: no rows of data")
    for kind, column in (("unit", unit), ("period", period)):
        if column is None:
            continue
        if column not in frame.columns:
            raise SpecError(f"{source}: no {kind} column {column!r}")
        blank = frame[column].isna()
        if not pd.api.types.is_numeric_dtype(frame[column]):
            blank |= frame[column].astype(str).str.strip() == ""
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0]) + 1
            raise SpecError(f"{source}: column {column!r}, row {row} of the data: no {kind}")
    if period is not None:
        try:
            sorted(frame[period].unique())
        except TypeError:
            raise SpecError(
                f"{source}: column {period!r}: periods mix numbers and text"
            ) from None


def panel_from_wide(
    frame: pd.DataFrame,
    framework: Framework,
    *,
    unit: str,
    period: str | None = None,
    groups: list[str] | tuple[str, ...] = (),
    source: str = "data",
) -> Panel:
    """Check that every indicator, denominator and group the framework and method need is a
    column, that units are unique per period and values are numbers."""
    needed = {
        f'indicator "{i}"': i for i in framework.indicators
    } | {
        f'indicator "{n.id}".denominator': n.denominator
        for n in framework.nodes.values()
        if n.denominator
    }
    for where, column in needed.items():
        if column not in frame.columns:
            raise SpecError(
                f"{source}: no column {column!r}, needed by {framework.source}: {where}"
            )
    for group in groups:
        if group not in frame.columns:
            raise SpecError(f"{source}: no group column {group!r}")
    _check_keys(frame, unit, period, source)
    keys = [unit] + ([period] if period else [])
    duplicated = frame.duplicated(keys)
    if duplicated.any():
        # tolist(): Python values, so that a year reads 2021 and not np.int64(2021)
        raise SpecError(
            f"{source}: unit {frame.loc[duplicated, unit].tolist()[0]!r} appears twice"
            + (f" in period {frame.loc[duplicated, period].tolist()[0]!r}" if period else "")
        )
    frame = frame.assign(**{unit: frame[unit].astype(str)})
    units = sorted(frame[unit].unique())
    periods = sorted(frame[period].unique()) if period else [SINGLE_PERIOD]
    numeric = [framework.nodes[i].id for i in framework.indicators]
    numeric += sorted({n.denominator for n in framework.nodes.values() if n.denominator})
    for column in numeric:
        if pd.api.types.is_numeric_dtype(frame[column]):
            # numbers already: nothing to check (writing each value as text, to find blank
            # ones, took most of the time of a large build)
            frame[column] = frame[column].astype(float)
            continue
        converted = pd.to_numeric(frame[column], errors="coerce")
        blank = frame[column].isna()
        if not pd.api.types.is_numeric_dtype(frame[column]):
            blank |= frame[column].astype(str).str.strip() == ""
        bad = converted.isna() & ~blank
        if bad.any():
            # by position: with a repeated index label (frames concatenated per period)
            # .at would return a Series, and the message would span several lines
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpecError(
                f"{source}: column {column!r}, unit {frame[unit].iat[at]!r}: "
                f"{frame[column].iat[at]!r} is not a number"
            )
        frame[column] = converted.astype(float)
    index = pd.MultiIndex.from_product([periods, units]) if period else pd.Index(units)
    framed = frame.set_index([period, unit] if period else unit).reindex(index)
    shape = (len(periods), len(units))

    def array(columns: list[str]) -> np.ndarray:
        block = framed[columns].to_numpy(dtype=float, na_value=np.nan)
        return block.reshape(*shape, len(columns))

    values = array(framework.indicators)
    if np.isinf(values).any():
        _, u, i = np.argwhere(np.isinf(values))[0]
        raise SpecError(
            f"{source}: column {framework.indicators[i]!r}, unit {units[u]!r}: infinite"
        )
    denominators = {
        name: array([name])[..., 0]
        for name in sorted({n.denominator for n in framework.nodes.values() if n.denominator})
    }
    for name, column in denominators.items():
        # x / inf = 0 would pass as a real value
        if np.isinf(column).any():
            _, u = np.argwhere(np.isinf(column))[0]
            raise SpecError(f"{source}: column {name!r}, unit {units[u]!r}: infinite")
    labels = frame.sort_values(keys).groupby(unit)[list(groups)].last().reindex(units)
    return Panel(values, units, periods, framework.indicators, denominators, labels)
