"""Treat outliers indicator by indicator, as the JRC/COINr default does: test skewness and
kurtosis; winsorise the extreme points one value at a time until the test passes or the
maximum number of points is reached; if it still fails, log-transform the original values.

Outliers would otherwise set the min-max goalposts and squash every other city together."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indicators.composite.moments import passes, skew_kurt


@dataclass(frozen=True)
class Treatment:
    """What happened to one column: the test before and after, points winsorised and where
    ("winhi"/"winlo"), and whether the log fallback was applied."""

    skew_before: float
    kurt_before: float
    passed_before: bool
    winsorised: int
    skew_after: float
    kurt_after: float
    passed_after: bool
    logged: bool
    points: dict[int, str]


def treat_column(
    x: np.ndarray,
    method: str,
    skew_max: float,
    kurt_max: float,
    max_points: int,
    fallback: str,
) -> tuple[np.ndarray, Treatment]:
    """x is one indicator's values over the units (NaN = missing)."""
    skew, kurt = (float(v[0]) for v in skew_kurt(x[:, None]))
    ok = bool(passes(np.array(skew), np.array(kurt), skew_max, kurt_max))
    if method == "none" or (ok and method == "winsorise"):
        return x, Treatment(skew, kurt, ok, 0, skew, kurt, ok, False, {})
    if method == "log":
        logged = log_ct(x)
        s2, k2 = (float(v[0]) for v in skew_kurt(logged[:, None]))
        ok2 = bool(passes(np.array(s2), np.array(k2), skew_max, kurt_max))
        return logged, Treatment(skew, kurt, ok, 0, s2, k2, ok2, True, {})

    out = x.copy()
    points: dict[int, str] = {}
    s2, k2, ok2 = skew, kurt, ok
    # the limit is checked before each point, so that max_points = 0 winsorises none
    while len(points) < max_points:
        present = ~np.isnan(out)
        # positive skew: the highest values come down to the next highest; else the lowest up
        high = s2 >= 0
        extreme = np.nanmax(out) if high else np.nanmin(out)
        at = np.flatnonzero(present & (out == extreme))
        rest = out[present & (out != extreme)]
        if rest.size == 0:
            break
        out[at] = rest.max() if high else rest.min()
        label = "winhi" if high else "winlo"
        points.update(dict.fromkeys(at.tolist(), label))
        s2, k2 = (float(v[0]) for v in skew_kurt(out[:, None]))
        ok2 = bool(passes(np.array(s2), np.array(k2), skew_max, kurt_max))
        if ok2:
            break
    if not ok2 and fallback == "log":
        logged = log_ct(x)
        s3, k3 = (float(v[0]) for v in skew_kurt(logged[:, None]))
        # the test after the log is reported as it comes out: the log need not cure the skew
        ok3 = bool(passes(np.array(s3), np.array(k3), skew_max, kurt_max))
        return logged, Treatment(skew, kurt, ok, len(points), s3, k3, ok3, True, {})
    return out, Treatment(skew, kurt, ok, len(points), s2, k2, ok2, False, points)


def log_ct(x: np.ndarray) -> np.ndarray:
    """COINr's log_CT: log(x - min + 0.01 (max - min)), defined for any sign of x. A column
    without spread (or without values, or with a spread whose 1% rounds to 0, below 1e-321)
    is left as it is: its minimum would go to log(0)."""
    present = x[~np.isnan(x)]
    low, high = (present.min(), present.max()) if present.size else (np.nan, np.nan)
    with np.errstate(over="ignore"):  # a range beyond 1e308 gives inf: the build refuses it
        if not 0.01 * (high - low) > 0:
            return x.copy()
        return np.log(x - low + 0.01 * (high - low))
