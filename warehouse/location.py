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


# Above this share of rejected rows in any of its frames a source is judged broken and loads
# nothing this run: a few bad rows are the publisher's slips, many mean the format changed.
DEFAULT_MAX_REJECTED_SHARE = 0.05


def max_rejected_share(source_id: str) -> float:
    """A source's rejection policy, `[sources.<id>] max_rejected_share = 0.05` (0 refuses any
    bad row; 1 loads whatever passes)."""
    settings = load_config().get("sources", {}).get(source_id, {})
    share = settings.get("max_rejected_share", DEFAULT_MAX_REJECTED_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ValueError(f"{config_path()}: [sources.{source_id}] max_rejected_share must be a "
                         f"number from 0 to 1, not {share!r}")
    return float(share)
