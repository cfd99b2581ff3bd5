"""Growth of a quantity between two dates, as a rate a year."""

from __future__ import annotations

import numpy as np
import pandas as pd


def annual_growth(start: pd.Series, end: pd.Series, years: int) -> pd.Series:
    """Average annual growth from `start` to `end` over `years`, in % a year (compound:
    (end / start) ** (1 / years) - 1). Missing where either value is missing or not above 0."""
    if years <= 0:
        raise ValueError(f"growth over {years} years: the end must come after the start")
    start, end = start.align(end, join="outer")
    valid = (start > 0) & (end > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (end / start) ** (1.0 / years) - 1.0
    return (rate * 100.0).where(valid)
