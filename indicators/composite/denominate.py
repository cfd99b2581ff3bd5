"""Denominate: divide an indicator by a denominator (population, area, GDP...) and a scale
factor, so that large and small cities compare on intensity rather than size."""

from __future__ import annotations

import numpy as np


def denominate(
    values: np.ndarray, denominators: list[np.ndarray | None], scales: list[float]
) -> np.ndarray:
    """values (P, U, I); denominators[i] is (P, U) or None for an indicator left as it is.
    A zero or missing denominator gives a missing value, never an infinity; a ratio too large
    for floating point stays infinite, for the build to refuse (it is no missing value)."""
    out = values.copy()
    for i, (denominator, scale) in enumerate(zip(denominators, scales, strict=True)):
        if denominator is None:
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = values[..., i] / denominator * scale
        out[..., i] = np.where(denominator == 0, np.nan, ratio)
    return out
