"""Bytes to text for every reader of a text format: UTF-8 or a ParseError naming file and byte."""

from __future__ import annotations

from warehouse.parse_error import ParseError

BOM = "\ufeff"


def utf8_text(content: bytes, file: str, expected: str = "UTF-8 text") -> str:
    """The text of a UTF-8 file (a byte-order mark dropped)."""
    _refuse_nul(content, file, expected)
    try:
        return content.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        raise ParseError(file, f"byte {error.start:,}", expected,
                         content[error.start:error.start + 8]) from None


def mostly_utf8_text(content: bytes, file: str, max_foreign_share: float) -> tuple[str, int]:
    """The text of a UTF-8 file in which up to `max_foreign_share` of the bytes may be of
    another encoding (read as U+FFFD), and how many were."""
    _refuse_nul(content, file, "UTF-8 text")
    try:
        return content.decode("utf-8").removeprefix(BOM), 0
    except UnicodeDecodeError as error:
        first = error.start
    text = content.decode("utf-8", errors="replace").removeprefix(BOM)
    foreign = text.count("\ufffd") - content.decode("utf-8", "ignore").count("\ufffd")
    if foreign > max_foreign_share * len(content):
        # the count, not a sample: it fits the excerpt an error may quote, and `byte` says where
        raise ParseError(file, f"byte {first:,}", "UTF-8 text",
                         f"{foreign:,} bytes that are not UTF-8")
    return text, foreign


def require_final_line_end(text: str, file: str) -> None:
    """A publisher that ends every line, the last one too: a file whose last line has no end
    was cut short (a truncated download can still end in a well-formed record)."""
    if text and not text.endswith("\n"):
        last = text[text.rfind("\n") + 1:]
        raise ParseError(file, f"line {text.count(chr(10)) + 1:,}",
                         "a line end (file truncated?)", last)


def _refuse_nul(content: bytes, file: str, expected: str) -> None:
    if (nul := content.find(b"\x00")) >= 0:  # UTF-16, or not text at all
        raise ParseError(file, f"byte {nul:,}", expected, "a NUL byte")
