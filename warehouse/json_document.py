"""A JSON file to its document, or a ParseError naming the file and where the JSON breaks."""

from __future__ import annotations

import json

from warehouse.parse_error import ParseError
from warehouse.text import utf8_text


def read_json(content: bytes | str, file: str) -> object:
    """The document of a UTF-8 JSON file (or of its text, already decoded)."""
    text = utf8_text(content, file, "UTF-8 JSON") if isinstance(content, bytes) else content
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(file, f"line {error.lineno}, column {error.colno}", f"JSON ({error.msg})",
                         error.doc[error.pos:error.pos + 20]) from None
