"""Where the config file and the warehouse are, without reading the config's settings: what
`citybench compare` needs when there is no config file, without importing the config's model
(warehouse.config: pydantic, a tenth of a second of a command's start). warehouse.config
resolves the same paths with these functions."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("data/citybench.duckdb")
CONFIG_FILE = "citybench.toml"


def config_path() -> Path:
    return Path(os.environ.get("CITYBENCH_CONFIG", CONFIG_FILE))


def no_config_file() -> bool:
    """Whether there is no config file to read, so that every setting is its default (as
    warehouse.config.read answers then; a $CITYBENCH_CONFIG naming no file is not this
    case: read refuses it)."""
    return "CITYBENCH_CONFIG" not in os.environ and not config_path().is_file()


def warehouse_path(explicit: str | os.PathLike[str] | None = None,
                   configured: str | None = None, file: Path | None = None) -> Path:
    """The warehouse: `explicit` (--db), else $CITYBENCH_DB, else `configured` ([warehouse]
    db, relative to the config `file`'s folder), else the default."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("CITYBENCH_DB"):
        return Path(env)
    if configured:
        folder = file.parent if file else Path.cwd()
        return folder / configured
    return DEFAULT_DB
