"""Where the published warehouse lives: --db, else $CITYBENCH_DB, else citybench.toml, else
data/citybench.duckdb."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

DEFAULT_DB = Path("data/citybench.duckdb")
CONFIG_FILE = "citybench.toml"


def config_path() -> Path:
    return Path(os.environ.get("CITYBENCH_CONFIG", CONFIG_FILE))


def load_config() -> dict:
    path = config_path()
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def resolve_db(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if env := os.environ.get("CITYBENCH_DB"):
        return Path(env)
    if configured := load_config().get("warehouse", {}).get("db"):
        return Path(configured)
    return DEFAULT_DB


def source_urls(source_id: str, defaults: dict[str, str]) -> dict[str, str]:
    """The URLs a source fetches: its publisher's, unless citybench.toml points a file
    elsewhere (an internal mirror server, a test server):

        [sources.un-wup.urls]
        "WUP2018-F12-Cities_Over_300K.xls" = "http://mirror.example/wup/F12.xls"
    """
    overrides = load_config().get("sources", {}).get(source_id, {}).get("urls", {})
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"{config_path()}: [sources.{source_id}.urls] has unknown file(s) "
                         f"{', '.join(unknown)}; known: {', '.join(defaults)}")
    return {**defaults, **overrides}
