"""CSV bytes to records, strictly: every record as wide as the first, quotes closed, each
record's line known, so a truncated or garbled file is refused at the line where it breaks."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from warehouse.parse_error import ParseError

# Publishers' files sometimes carry a stray byte of another encoding (ClimActor's Dec 2022 file
# has Mac Roman no-break spaces in region names); more than this share means the file is not
# UTF-8 text at all.
MAX_FOREIGN_BYTE_SHARE = 0.001


@dataclass(frozen=True)
class CsvRecords:
    rows: list[list[str]]  # the header, when the file has one, is rows[0]
    lines: list[int]  # the line each record ends on (1-based)
    foreign_bytes: int  # bytes that were not UTF-8, read as U+FFFD


def read_csv_records(
    content: bytes, file: str, width: int | None = None, delimiter: str | None = None
) -> CsvRecords:
    """Every non-blank record; `width` fields each, or as many as the first record has."""
    text, foreign = _decode(content, file)
    if delimiter is None:
        first_line = text.split("\n", 1)[0]
        delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, lines = [], []
    try:
        for record in reader:
            if record:
                rows.append(record)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise ParseError(file, f"line {reader.line_num}", "well-formed CSV", str(error)) from None
    expected = width if width is not None else (len(rows[0]) if rows else 0)
    for record, line in zip(rows, lines, strict=True):
        if len(record) != expected:
            raise ParseError(file, f"line {line}", f"{expected} fields",
                             f"{len(record)} fields: {delimiter.join(record)}")
    return CsvRecords(rows, lines, foreign)


def _decode(content: bytes, file: str) -> tuple[str, int]:
    if (nul := content.find(b"\x00")) >= 0:  # UTF-16, or not text at all
        raise ParseError(file, f"byte {nul:,}", "UTF-8 text", "a NUL byte")
    try:
        return content.decode("utf-8-sig"), 0
    except UnicodeDecodeError as error:
        first = error.start
    text = content.decode("utf-8-sig", errors="replace")
    foreign = text.count("\ufffd") - content.decode("utf-8-sig", "ignore").count("\ufffd")
    if foreign > MAX_FOREIGN_BYTE_SHARE * len(content):
        raise ParseError(file, f"byte {first:,}", "UTF-8 text",
                         f"{foreign:,} bytes that are not UTF-8, e.g. {content[first:first + 4]!r}")
    return text, foreign
