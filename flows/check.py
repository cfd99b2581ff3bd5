"""`citybench check FILE`: a user's data file, checked by the rules a refresh applies to it.

The file is read and its rows are checked against the user format's contract (UserRows);
when a published warehouse exists, the cities are resolved against its registry and the
values checked against its indicators' units, as `refresh --source user` would. Nothing is
written. No Prefect: the check answers in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from flows.sources.base import Registry
from flows.sources.user_files import UserFiles
from flows.user_data import UserRows, read_user_path
from flows.validate import KEYS, canonical_contracts
from warehouse.connect import open_read_only
from warehouse.validation import no_rejects, split_valid


@dataclass
class CheckReport:
    file: str
    rows: int  # rows that have a value
    missing: int  # rows without one (left out, never zero)
    rejected: pd.DataFrame = field(default_factory=no_rejects)
    unresolved: pd.DataFrame | None = None  # key, name, status, reason
    warehouse: Path | None = None  # checked against this registry, when there is one

    @property
    def ok(self) -> bool:
        return self.rejected.empty and (self.unresolved is None or self.unresolved.empty)

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
        problems = self.rejected["row_number"].nunique() + (
            0 if self.unresolved is None else len(self.unresolved))
        against = f" against {self.warehouse}" if self.warehouse else ""
        verdict = "ok" if self.ok else f"{problems:,} problem(s)"
        lines.append(f"{self.file}: {verdict}{against}")
        return lines


def check_file(path: Path, db: Path) -> CheckReport:
    """Raises ParseError when the file is not a table in the canonical format at all."""
    source = UserFiles()
    read = read_user_path(path)
    parsed = source.frames({read.name: read}, {})
    rows = split_valid(parsed["observations"], UserRows, ["file", "position"])
    report = CheckReport(read.name, rows.rows_read, read.missing, rows.rejected)
    if not db.is_file():
        return report
    con = open_read_only(db)
    try:
        registry = Registry.read(con)
        networks = con.execute("SELECT network_id FROM network").df()["network_id"]
    finally:
        con.close()
    conformed = source.conform({"datasets": parsed["datasets"], "observations": rows.valid},
                               registry)
    contract = canonical_contracts(registry, conformed, networks)["observation"]
    canonical = split_valid(conformed.observation, contract, KEYS["observation"][:3])
    report.rejected = pd.concat([rows.rejected, canonical.rejected], ignore_index=True)
    report.unresolved = conformed.unresolved
    report.warehouse = db
    return report
