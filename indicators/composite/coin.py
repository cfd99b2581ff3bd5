"""The composite: one object that records every intermediate data set and the parameters each
step used, as COINr's "coin" does, so any score can be traced back to the raw values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from indicators.composite.data import SINGLE_PERIOD, Panel
from indicators.composite.spec import Framework, Method
from indicators.composite.treat import Treatment

SET_NAMES = {
    "denominate": "Denominated",
    "impute": "Imputed",
    "screen": "Screened",
    "treat": "Treated",
    "normalise": "Normalised",
    "aggregate": "Aggregated",
}


@dataclass
class StepRecord:
    step: str
    parameters: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Coin:
    framework: Framework
    method: Method
    panel: Panel
    sets: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    log: list[StepRecord] = field(default_factory=list)
    included: np.ndarray | None = None  # (P, U): units kept by the screen
    weights: dict[str, float] = field(default_factory=dict)  # every node, as aggregated
    treatments: dict[tuple[int, str], Treatment] = field(default_factory=dict)

    @property
    def units(self) -> list[str]:
        return self.panel.units

    @property
    def periods(self) -> list:
        return self.panel.periods

    def record(self, name: str, values: np.ndarray, columns: list[str]) -> None:
        self.sets[name] = values
        self.columns[name] = columns

    def frame(self, name: str, period: Any = None) -> pd.DataFrame:
        """One data set for one period (the only one, or the latest, by default) as a
        units x columns frame; units the screen left out are not in it."""
        p = self._period(period)
        frame = pd.DataFrame(self.sets[name][p], index=self.units, columns=self.columns[name])
        frame.index.name = "unit"
        if self.included is not None and name not in ("Raw", "Denominated", "Imputed"):
            frame = frame.loc[self.included[p]]
        return frame

    def _period(self, period: Any) -> int:
        if period is None:
            return len(self.periods) - 1
        if period not in self.periods:
            raise KeyError(f"no period {period!r}; periods: {self.periods}")
        return self.periods.index(period)

    def scores(self) -> np.ndarray:
        """(P, U, nodes) of the last data set: normalised indicators, then every aggregate."""
        return self.sets["Aggregated"]

    def long(self) -> pd.DataFrame:
        """period, unit, node, value: every data set stacked, for export."""
        parts = []
        for name, values in self.sets.items():
            index = pd.MultiIndex.from_product(
                [self.periods, self.units, self.columns[name]], names=["period", "unit", "node"]
            )
            parts.append(
                pd.DataFrame({"set": name, "value": values.reshape(-1)}, index=index)
            )
        long = pd.concat(parts).reset_index()
        if self.periods == [SINGLE_PERIOD]:
            long = long.drop(columns="period")
        return long.dropna(subset=["value"])
