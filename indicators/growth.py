"""Growth of a quantity between two dates, as a rate a year."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def annual_growth(start: pd.Series | np.ndarray, end: pd.Series | np.ndarray,
                  years: int) -> pd.Series | np.ndarray:
    """Average annual growth from `start` to `end` over `years`, in % a year (compound:
    (end / start) ** (1 / years) - 1). Missing where either value is missing or not above 0.
    Series are aligned on their index (a Series back); arrays, position by position (an
    array back: `citybench compare` reads without pandas)."""
    if years <= 0:
        raise ValueError(f"growth over {years} years: the end must come after the start")
    if hasattr(start, "align"):
        start, end = start.align(end, join="outer")
    valid = (start > 0) & (end > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = ((end / start) ** (1.0 / years) - 1.0) * 100.0
    return rate.where(valid) if hasattr(rate, "where") else np.where(valid, rate, np.nan)
