"""`citybench check` on a large CSV: the steps of flows/check.py, on pieces of the file.

Reading a whole file into Python rows takes about 50 times its size in memory (a 20 MB file
took 1.1 GB; a 200 MB one did not fit in 8 GB). Pieces of about PIECE_BYTES, cut at record
ends (never inside a quoted field), keep the peak near that of one piece whatever the file's
size. Each piece goes through the refresh's own steps (stage_source), its rows named by their
lines in the whole file. What spans pieces is checked across them:

- every distinct place (city, country) of the file is resolved once, ahead of the pieces, so
  the registry's names are folded once and a place gets one verdict;
- a row with the city, country, indicator and period of a row in an earlier piece, and a unit
  other than the one the indicator's first row gave in an earlier piece, are rejected with the
  words the contract uses within a piece;
- the rejection policy is judged on the whole file's counts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from flows.check import _QUIET, PIECE_BYTES, CheckReport
from flows.pipeline import PLAIN, stage_source
from flows.sources.base import Extracted
from flows.sources.user_files import UserFiles, _resolve
from flows.transport import Offline
from flows.user_data import cell_text, header_columns
from flows.validate import policy_breach
from warehouse.config import Config
from warehouse.connect import open_read_only
from warehouse.parse_error import ParseError
from warehouse.registry import read_registry
from warehouse.text import utf8_text
from warehouse.validation import Outcome, no_rejects

# The columns that make a row one of a kind (UserRows' `unique`), as the contract names them.
KEY = ["file", "city", "country", "indicator", "period"]
ONE_ROW = "expected one row per file, city, country, indicator, period"
ONE_UNIT = "expected the unit the indicator's first row gives"


def pieces(path: Path, size: int = PIECE_BYTES) -> Iterator[tuple[int, bytes]]:
    """(the file's line number of the piece's first line, its header line + whole records)."""
    with path.open("rb") as file:
        header = file.readline()
        first_line, start, rest = 2, len(header), b""
        while True:
            block = file.read(size)
            data = rest + block
            cut = _record_end(data) if block else len(data)
            if cut is None:  # one record longer than a piece: read on
                rest = data
                continue
            piece, rest = data[:cut], data[cut:]
            _text(piece, start, path)
            if piece.strip():
                yield first_line, header + piece
            first_line += piece.count(b"\n")
            start += len(piece)
            if not block:
                return


def _text(piece: bytes, start: int, path: Path) -> None:
    """A ParseError naming the byte of the whole file, as a check in one go names it."""
    try:
        utf8_text(piece, str(path))
    except ParseError as error:
        at = int(error.position.removeprefix("byte ").replace(",", ""))
        found = "a NUL byte" if piece[at:at + 1] == b"\0" else piece[at:at + 8]
        raise ParseError(str(path), f"byte {at + start:,}", error.expected, found) from None


def _record_end(data: bytes) -> int | None:
    """Just after the last line end outside quotes (an even number of quotes before it)."""
    quotes, end = data.count(b'"'), len(data)
    while (at := data.rfind(b"\n", 0, end)) >= 0:
        quotes -= data.count(b'"', at, end)
        if quotes % 2 == 0:
            return at + 1
        end = at
    return None


def places_of(path: Path) -> pd.DataFrame:
    """Every distinct (city, country) of the file, as user_data reads them (a pass over the
    file that holds only the distinct places)."""
    found: set[tuple[str, str | None]] = set()
    with path.open(encoding="utf-8", errors="replace", newline="") as file:
        reader = csv.reader(file)
        columns = header_columns(next(reader, []))
        city = columns.index("city") if "city" in columns else None
        country = columns.index("country") if "country" in columns else None
        for record in _records(reader):
            name = cell_text(record[city]) if city is not None and city < len(record) else None
            code = (cell_text(record[country]) if country is not None and country < len(record)
                    else None)
            if name is not None:
                found.add((name, code.upper() if code else None))
    return pd.DataFrame(sorted(found, key=str), columns=["city", "country"], dtype=object)


def _records(reader) -> Iterator[list[str]]:
    """The records up to the first garbled one (the pieces' own reading names it)."""
    try:
        yield from reader
    except csv.Error:
        return


@dataclass
class _Across:
    """What later pieces are checked against: the keys seen (sorted hashes, with the line of
    each) and each indicator's first unit; and the rows rejected for them."""

    keys: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    lines: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    units: dict[str, str] = field(default_factory=dict)
    rejected: list[pd.DataFrame] = field(default_factory=list)

    def check(self, rows: pd.DataFrame, shown: str) -> pd.DataFrame:
        """Reject the rows an earlier piece makes wrong (a repeated key: both rows, as the
        contract does within a piece); returns the rows for the piece's own contract, with the
        earlier unit where a row's differs, so that the piece's own check judges the rest by
        the indicator's first unit, not by its own first row's."""
        if rows.empty:
            return rows
        hashes = pd.util.hash_pandas_object(rows[KEY].astype(str), index=False).to_numpy()
        lines = rows["position"].str.removeprefix("line ").astype("int64").to_numpy()
        at = np.searchsorted(self.keys, hashes).clip(max=max(len(self.keys) - 1, 0))
        repeated = (self.keys[at] == hashes) if len(self.keys) else np.zeros(len(rows), bool)
        units = rows["indicator"].map(self.units)
        other_unit = rows["unit"].notna() & units.notna() & (rows["unit"] != units)
        key_columns = ["city", "country", "indicator", "period"]
        earlier = rows[repeated].assign(position=[f"line {n}" for n in self.lines[at[repeated]]])
        self._reject(pd.concat([earlier, rows[repeated]]), key_columns, ONE_ROW, shown)
        self._reject(rows[other_unit], ["unit"], ONE_UNIT, shown)
        order = np.argsort(np.concatenate([self.keys, hashes]), kind="stable")
        self.keys = np.concatenate([self.keys, hashes])[order]
        self.lines = np.concatenate([self.lines, lines])[order]
        firsts = rows.dropna(subset=["unit"]).drop_duplicates("indicator")
        for indicator, unit in zip(firsts["indicator"], firsts["unit"], strict=True):
            self.units.setdefault(indicator, unit)
        return rows.assign(unit=rows["unit"].where(~other_unit, units))

    def _reject(self, rows: pd.DataFrame, columns: list[str], expected: str, shown: str) -> None:
        if rows.empty:
            return
        shown_rows = rows[columns].astype(object)
        if "period" in columns:  # as the contract shows it: a number
            number = pd.to_numeric(shown_rows["period"], errors="coerce")
            shown_rows["period"] = [int(n) if n == n else p
                                    for n, p in zip(number, shown_rows["period"], strict=True)]
        said = [", ".join(repr(v) for v in row) for row in shown_rows.itertuples(index=False)]
        lines = rows["position"].str.removeprefix("line ").astype("int64")
        self.rejected.append(pd.DataFrame({
            # numbered apart from every piece's own rows: by line, past any piece's numbers
            "row_number": lines.to_numpy() + 2**62,
            "column_name": columns[0], "check_name": "raw/observations: across pieces",
            "value": said,
            "reason": [f"{shown} {position}: {', '.join(columns)} = {text}: {expected}"
                       for position, text in zip(rows["position"], said, strict=True)]}))


def _shift(frame: pd.DataFrame, lines: int) -> pd.DataFrame:
    """A piece's rows named by their lines in the whole file."""
    if frame.empty or lines == 0:
        return frame
    number = frame["position"].str.removeprefix("line ").astype(int) + lines
    return frame.assign(position="line " + number.astype(str))


def check_in_pieces(path: Path, db: Path, config: Config, size: int = PIECE_BYTES
                    ) -> CheckReport:
    limit = config.source("user").max_rejected_share
    source = UserFiles(UserFiles.Settings(files=[str(path)], max_rejected_share=1.0))
    con = open_read_only(db) if db.is_file() else None
    try:
        registry = read_registry(con) if con is not None else None
        if registry is not None:
            source.resolved = _resolve(places_of(path), registry)
        return _check(path, db, source, con, registry, limit, size)
    finally:
        if con is not None:
            con.close()


def _stage_piece(content: bytes, first_line: int, path: Path, source: UserFiles, con,
                 registry, across: _Across):
    """One piece through the refresh's steps, its rows named by their lines in the file."""
    extracted = Extracted({str(path): content}, None, datetime.now(UTC))

    def parse(source, extracted, *, log):
        try:
            frames = PLAIN.parse(source, extracted, log=log)
        except ParseError as error:  # a garbled record: named by its line in the whole file
            if not error.position.startswith("line "):
                raise
            position = f"line {int(error.position.removeprefix('line ')) + first_line - 2}"
            shifted = ParseError(error.file, position, error.expected)
            shifted.args = (str(error).replace(f", {error.position}: ", f", {position}: ", 1),)
            raise shifted from None
        observations = _shift(frames["observations"], first_line - 2)
        return {**frames, "observations": across.check(observations, str(path)),
                "practices": _shift(frames["practices"], first_line - 2)}

    return stage_source(con, source, Offline(), log=_QUIET, registry=registry,
                        run=PLAIN._replace(extract=lambda *_, **__: extracted, parse=parse))


def _numbered(rejected: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Rows of different pieces are different rows: their numbers apart by `offset`."""
    return rejected.assign(row_number=rejected["row_number"].astype("int64") + offset)


def _check(path: Path, db: Path, source: UserFiles, con, registry, limit: float,
           size: int) -> CheckReport:
    across = _Across()
    rows = missing = 0
    invalid, unresolved = [], []
    outcomes: dict[str, list[Outcome]] = {}
    for number, (first_line, content) in enumerate(pieces(path, size)):
        staged = _stage_piece(content, first_line, path, source, con, registry, across)
        files = staged.raw["files"].valid
        rows += int(files["rows"].sum())
        missing += int(files["missing"].sum())
        invalid.append(_numbered(staged.invalid(), number * 2**32))
        for name, outcome in {**staged.raw, **(staged.canonical or {})}.items():
            # only the counts and rejections are kept: a slice of `valid` would keep the
            # piece's rows alive, and memory would grow with the file
            outcomes.setdefault(name, []).append(Outcome(
                pd.DataFrame(columns=outcome.valid.columns),
                _numbered(outcome.rejected, number * 2**32), outcome.rows_read))
        if staged.conformed is not None and staged.conformed.unresolved is not None:
            unresolved.append(staged.conformed.unresolved)
    ours = pd.concat(across.rejected, ignore_index=True) if across.rejected else no_rejects()
    rejected = pd.concat([*invalid, ours], ignore_index=True)
    report = CheckReport(str(path), rows, missing, rejected.sort_values(
        "reason", key=_by_line, kind="stable", ignore_index=True))
    whole = {name: Outcome(parts[0].valid, pd.concat([p.rejected for p in parts]),
                           sum(p.rows_read for p in parts)) for name, parts in outcomes.items()}
    if "observations" in whole:
        seen = whole["observations"]
        whole["observations"] = Outcome(seen.valid, pd.concat([seen.rejected, ours]),
                                        seen.rows_read)
    report.refused = policy_breach(whole, limit)
    if registry is not None:
        report.warehouse = db
        report.unresolved = (pd.concat(unresolved, ignore_index=True)
                             .drop_duplicates(["key", "status", "reason"], ignore_index=True))
    return report


def _by_line(reasons: pd.Series) -> pd.Series:
    """Rejections in the file's order (a piece's own come first, then those across pieces)."""
    number = reasons.str.extract(r" line (\d+):", expand=False)
    return pd.to_numeric(number, errors="coerce")

