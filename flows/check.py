"""`citybench check FILE`: a user's data file, checked by the rules a refresh applies to it.

It is a dry run of the refresh's own steps (flows/pipeline.stage_source) on the `user` source
listing this one file: the user format's contract, then, when a published warehouse exists,
the cities resolved against its registry and the values checked against its indicators'
units; last, the source's rejection policy. A practices file (flows/sources/practices.py) is
a user file too, checked the same way. Nothing is written. No Prefect: the check answers
in about a second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from flows.pipeline import stage_source
from flows.sources.user_files import UserFiles
from flows.transport import Offline
from flows.user_data import file_suffix
from flows.validate import policy_breach
from warehouse.config import Config
from warehouse.connect import open_read_only
from warehouse.validation import no_rejects

# What the steps log as they go is the refresh's narrative; a check reports on its own.
_QUIET = logging.getLogger("citybench.check")

# A CSV larger than this is checked piece by piece (flows/check_pieces.py), so that memory stays
# bounded whatever the file's size; a smaller one (every file `check` saw before) in one go.
PIECE_BYTES = 4 * 2**20


@dataclass
class CheckReport:
    file: str
    rows: int  # rows that have a value
    missing: int  # rows without one (left out, never zero)
    rejected: pd.DataFrame = field(default_factory=no_rejects)
    unresolved: pd.DataFrame | None = None  # key, name, status, reason
    warehouse: Path | None = None  # checked against this registry, when there is one
    refused: str | None = None  # why a refresh would load none of the file

    @property
    def ok(self) -> bool:
        return (self.rejected.empty and self.refused is None
                and (self.unresolved is None or self.unresolved.empty))

    def lines(self) -> list[str]:
        lines = [f"{self.file}: {self.rows:,} row(s) with a value, {self.missing:,} without "
                 "(left out)"]
        bad = self.rejected.drop_duplicates("reason")
        lines += [f"  rejected: {reason}" for reason in bad["reason"]]
        if self.warehouse is None:
            lines.append("  cities and units not checked: no warehouse yet (citybench refresh)")
        elif self.unresolved is not None:
            lines += [f"  not loaded: {row.key}: {row.reason}"
                      for row in self.unresolved.itertuples(index=False)]
        if self.refused:
            lines.append(f"  a refresh would load none of it: {self.refused}")
        problems = self.rejected["row_number"].nunique() + (
            0 if self.unresolved is None else len(self.unresolved))
        against = f" against {self.warehouse}" if self.warehouse else ""
        verdict = "ok" if self.ok else f"{problems:,} problem(s)"
        lines.append(f"{self.file}: {verdict}{against}")
        return lines


def check_file(path: Path, db: Path, config: Config) -> CheckReport:
    """Raises ParseError when the file is not a table in the canonical format at all."""
    if file_suffix(path.name) == ".csv" and path.stat().st_size > PIECE_BYTES:
        from flows.check_pieces import check_in_pieces

        return check_in_pieces(path, db, config)
    limit = config.source("user").max_rejected_share
    # Every row is taken as far as it goes, whatever the policy; the policy is judged last,
    # so that the report lists every problem, not only the first frame's.
    source = UserFiles(UserFiles.Settings(files=[str(path)], max_rejected_share=1.0))
    con = open_read_only(db) if db.is_file() else None
    try:
        staged = stage_source(con, source, Offline(), log=_QUIET)
    finally:
        if con is not None:
            con.close()
    files = staged.raw["files"].valid
    report = CheckReport(str(path), int(files["rows"].sum()), int(files["missing"].sum()),
                         staged.invalid())
    report.refused = policy_breach({**staged.raw, **(staged.canonical or {})}, limit)
    if staged.conformed is not None:
        report.warehouse = db
        report.unresolved = staged.conformed.unresolved
    return report
