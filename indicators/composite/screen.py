"""Screen units by data availability: a unit with too few indicators (or too many zeros) is
left out of the ranking rather than scored on guesses."""

from __future__ import annotations

import numpy as np


def availability(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (period, unit): the share of indicators with a value, and the share that are
    non-zero (of all indicators, as COINr counts)."""
    count = values.shape[-1]
    present = ~np.isnan(values)
    nonzero = present & (values != 0)
    return present.sum(axis=-1) / count, nonzero.sum(axis=-1) / count


def included(
    values: np.ndarray, rule: str, min_availability: float, min_nonzero: float
) -> np.ndarray:
    """(P, U) boolean: which units stay, by `availability`, `zeros` or both."""
    available, nonzero = availability(values)
    low_data = available < min_availability
    low_nonzero = nonzero < min_nonzero
    if rule == "availability":
        return ~low_data
    if rule == "zeros":
        return ~low_nonzero
    return ~(low_data | low_nonzero)
