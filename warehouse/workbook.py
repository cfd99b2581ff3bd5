"""Excel bytes (.xlsx or .xls) to a workbook and its sheets, or a ParseError naming the file and
where it breaks: the first bytes, its end, or the sheet."""

from __future__ import annotations

import io

import pandas as pd
import python_calamine

from warehouse.parse_error import ParseError

ZIP = b"PK\x03\x04"  # .xlsx
OLE2 = b"\xd0\xcf\x11\xe0"  # legacy .xls


def is_workbook(content: bytes) -> bool:
    return content.startswith((ZIP, OLE2))


def open_workbook(content: bytes, file: str,
                  kind: str = "an Excel workbook") -> python_calamine.CalamineWorkbook:
    """The workbook; `kind` says what the file should be, as its reader names it."""
    if not is_workbook(content):
        raise ParseError(file, "byte 0", f"{kind} (a zip or OLE2 file)", content[:8])
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    except Exception as error:  # calamine raises several kinds for a damaged workbook
        # A workbook's directory of parts sits at its end: a truncated one loses it first.
        raise ParseError(file, f"byte {len(content):,} (end of file)", f"{kind}, complete",
                         first_line(error)) from None


def sheet_name(book: python_calamine.CalamineWorkbook, file: str, sheet: str | int,
               expected: str = "a sheet of the workbook") -> str:
    """The name of a sheet given by name or position (0: the first)."""
    names = book.sheet_names
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return names[sheet]
    if sheet not in names:
        raise ParseError(file, f"sheet {sheet!r}", expected, f"sheets {', '.join(names)}")
    return sheet


def sheet_rows(content: bytes, file: str, sheet: str | int = 0,
               expected: str = "a sheet of the workbook") -> tuple[str, list[list]]:
    """A sheet's name and its cells row by row from A1, blank leading rows and columns kept,
    so that positions are real cells."""
    book = open_workbook(content, file)
    name = sheet_name(book, file, sheet, expected)
    try:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as error:
        raise ParseError(file, f"sheet {name!r}", "readable cells", first_line(error)) from None
    return name, [list(row) for row in rows]


def sheet_frame(content: bytes, file: str, sheet: str | int = 0,
                kind: str = "an Excel workbook", **options) -> pd.DataFrame:
    """A sheet as pandas reads it (`options` of pandas.read_excel); the workbook is opened
    first, so a broken one is named with where it breaks."""
    name = sheet_name(open_workbook(content, file, kind), file, sheet)
    try:
        return pd.read_excel(io.BytesIO(content), sheet_name=name, engine="calamine", **options)
    except Exception as error:  # calamine's and pandas' errors name no cell
        raise ParseError(file, f"sheet {name!r}", "readable cells", first_line(error)) from None


def first_line(error: Exception) -> str:
    return (str(error) or type(error).__name__).splitlines()[0]
