"""Validate a frame against its contract and split it into the rows that pass and the rejects."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

REJECTED_COLUMNS = ["row_number", "column_name", "check_name", "value", "reason"]


class FrameRejected(ValueError):
    """The frame as a whole breaks its contract (a missing column, a wrong type): no row is
    usable."""


@dataclass(frozen=True)
class Outcome:
    valid: pd.DataFrame
    rejected: pd.DataFrame  # one row per failed check, REJECTED_COLUMNS
    rows_read: int

    @property
    def rejected_rows(self) -> int:
        return int(self.rejected["row_number"].nunique())

    @property
    def rejected_share(self) -> float:
        return self.rejected_rows / self.rows_read if self.rows_read else 0.0


def split_valid(frame: pd.DataFrame, model: type[pa.DataFrameModel]) -> Outcome:
    """Validate lazily; rows that fail any check go to `rejected` with the check and a reason."""
    frame = frame.reset_index(drop=True)
    try:
        valid = model.validate(frame, lazy=True)
        return Outcome(valid, pd.DataFrame(columns=REJECTED_COLUMNS), len(frame))
    except SchemaErrors as errors:
        cases = errors.failure_cases
    frame_level = cases[cases["index"].isna()]
    if not frame_level.empty:
        first = frame_level.iloc[0]
        raise FrameRejected(
            f"{model.__name__}: {first['check']} failed for column {first['column']!s} "
            f"({first['failure_case']})"
        )
    bad_index = cases["index"].astype("int64")
    rejected = pd.DataFrame(
        {
            "row_number": bad_index + 1,
            "column_name": cases["column"].astype("string"),
            "check_name": cases["check"].astype("string"),
            "value": cases["failure_case"].astype("string"),
        }
    )
    rejected["reason"] = (
        rejected["column_name"].fillna("row")
        + " = "
        + rejected["value"].fillna("null")
        + " fails "
        + rejected["check_name"]
    )
    good = frame.drop(index=bad_index.unique())
    # The good rows still need the contract's coercions and filtering applied.
    return Outcome(model.validate(good), rejected[REJECTED_COLUMNS], len(frame))
