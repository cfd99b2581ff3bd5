"""What each source says of its publisher's data, kept in publishers.toml beside this module:
terms and credits are data, read and reviewed in one place rather than in thirteen modules."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from flows.sources.base import SourceMeta


def publisher_of(source_id: str) -> SourceMeta:
    """The source's table of publishers.toml, as its meta."""
    return SourceMeta(source_id=source_id, **publishers()[source_id])


@cache
def publishers() -> dict[str, dict]:
    """Every table of publishers.toml, by source id."""
    return tomllib.loads((resources.files(__package__) / "publishers.toml").read_text("utf-8"))
