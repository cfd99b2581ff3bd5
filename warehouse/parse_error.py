"""The one error every reader of a publisher's or a user's file raises for bytes that are not
what its format promises."""

from __future__ import annotations

from warehouse.redact import redact_text

# The most of a file's content an error quotes. A mirror's links are followed, so a file may
# be one its reader should not see whole (a link to a file of secrets): the message, stored in
# `load.error` and shown by status and the app, quotes a short, redacted excerpt only.
EXCERPT_CHARS = 40


def excerpt(found: object) -> str:
    """What was found, credentials masked, cut to EXCERPT_CHARS characters ("…" marks a cut)."""
    text = redact_text(str(found)[:1000])  # far beyond the cut: a credential is masked whole
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


class ParseError(ValueError):
    """A file that is not what its publisher's format promises: truncated, garbled, changed.

    The message names the file, the position and what was expected, on one line.
    """

    def __init__(self, file: str, position: str, expected: str, found: object = None):
        found_text = "" if found is None else f", found {excerpt(found)!r}"
        super().__init__(f"{file}, {position}: expected {expected}{found_text}")
        self.file, self.position, self.expected = file, position, expected
