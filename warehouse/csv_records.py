"""CSV to records, strictly: quotes closed, each record's line known and, unless the format lets
records differ in width, every record as wide as the first, so that a truncated or garbled file
is refused at the line where it breaks."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace

from warehouse.parse_error import ParseError
from warehouse.text import mostly_utf8_text, require_final_line_end, utf8_text

# Publishers' files sometimes carry a stray byte of another encoding (ClimActor's Dec 2022 file
# has Mac Roman no-break spaces in region names); more than this share means the file is not
# UTF-8 text at all.
STRAY_BYTE_SHARE = 0.001


@dataclass(frozen=True)
class CsvRecords:
    rows: list[list[str]]  # the header, when the file has one, is rows[0]
    lines: list[int]  # the line each record ends on (1-based)
    foreign_bytes: int = 0  # bytes that were not UTF-8, read as U+FFFD


def read_csv_records(
    content: bytes,
    file: str,
    *,
    stray_bytes: float = 0.0,
    final_line_end: bool = False,
    width: int | None = None,
    delimiter: str | None = None,
    ragged: bool = False,
) -> CsvRecords:
    """The records of a UTF-8 CSV file in which a share `stray_bytes` of the bytes may be of
    another encoding; `final_line_end`: the publisher ends every line, so a last line without
    an end was cut short. The layout as in csv_records."""
    if stray_bytes:
        text, foreign = mostly_utf8_text(content, file, stray_bytes)
    else:
        text, foreign = utf8_text(content, file), 0
    if final_line_end:
        require_final_line_end(text, file)
    records = csv_records(text, file, width=width, delimiter=delimiter, ragged=ragged)
    return replace(records, foreign_bytes=foreign)


def csv_records(
    text: str,
    file: str,
    *,
    width: int | None = None,
    delimiter: str | None = None,
    ragged: bool = False,
) -> CsvRecords:
    """Every record with something in it; `width` fields each, or as many as the first record
    has, unless `ragged` (the reader checks widths itself). The delimiter, when not given, is
    the one the first line has most of."""
    if delimiter is None:
        first_line = text.split("\n", 1)[0]
        delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, lines = [], []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):  # blank lines carry nothing
                rows.append(record)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise ParseError(file, f"line {reader.line_num}", "well-formed CSV", str(error)) from None
    if not ragged:
        expected = width if width is not None else len(rows[0]) if rows else 0
        _same_width(rows, lines, file, expected, delimiter)
    return CsvRecords(rows, lines)


def _same_width(rows: list[list[str]], lines: list[int], file: str, expected: int,
                delimiter: str) -> None:
    for record, line in zip(rows, lines, strict=True):
        if len(record) != expected:
            raise ParseError(file, f"line {line}", f"{expected} fields",
                             f"{len(record)} fields: {delimiter.join(record)}")
