"""The one error every reader of a publisher's or a user's file raises for bytes that are not
what its format promises."""

from __future__ import annotations


class ParseError(ValueError):
    """A file that is not what its publisher's format promises: truncated, garbled, changed.

    The message names the file, the position and what was expected, on one line.
    """

    def __init__(self, file: str, position: str, expected: str, found: object = None):
        found_text = "" if found is None else f", found {str(found)[:60]!r}"
        super().__init__(f"{file}, {position}: expected {expected}{found_text}")
        self.file, self.position, self.expected = file, position, expected
