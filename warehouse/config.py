"""citybench.toml, parsed once per command into one typed object.

    [warehouse]
    db = "data/citybench.duckdb"          # --db and $CITYBENCH_DB come first
    keep_versions = 5                     # published versions kept for `citybench rollback`

    [refresh]
    sources = ["geonames", "un-wup"]      # what a bare `citybench refresh` loads

    [peers.lists]                         # peer lists saved by name (citybench compare)
    twin_cities = ["Lyon, FR", "Birmingham, GB", "gn:3169070"]

    [quality]
    yoy_jump = 0.5                        # thresholds of the flags (warehouse/quality.py)
    robust_z = 3.5
    min_cities = 10

    [sources.un-wup]                      # every source: urls, max_rejected_share, and its own
    max_rejected_share = 0.05
    [sources.un-wup.urls]
    "WUP2018-F12-Cities_Over_300K.xls" = "http://mirror.example/wup/F12.xls"

The file is `$CITYBENCH_CONFIG`, else `citybench.toml` in the working directory; without one,
every setting has its default. A file that does not parse, an unknown table or key, or a value
of the wrong type is refused with one line naming the file and the key (ConfigError). Each
source declares the keys of its own table (a `SourceSettings` subclass); the commands that run
sources hand those classes to `read`, the others check every table but the sources'.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_serializer

from warehouse.redact import redact_text

DEFAULT_DB = Path("data/citybench.duckdb")
CONFIG_FILE = "citybench.toml"
# The starter snapshot packaged with citybench (flows/starter): needs no network
OFFLINE_DEFAULT = "starter"
# Above this share of rejected rows in any of its frames a source is judged broken and loads
# nothing this run: a few bad rows are the publisher's slips, many mean the format changed.
DEFAULT_MAX_REJECTED_SHARE = 0.05
# Above this share of its records that no city is found for, a source loads nothing this run,
# unless its publisher's table (flows/sources/publishers.toml) states another share with the
# reason: sources listing places below the registry's 15,000 people miss many by design.
DEFAULT_MAX_UNRESOLVED_SHARE = 0.10
DEFAULT_KEEP_VERSIONS = 5


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is one line naming file and key."""


class Section(BaseModel):
    """A table of the file: no key it does not declare, no value of another type."""

    # defer_build: a model's validator is built when first used, not when citybench starts
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class WarehouseSettings(Section):
    db: str | None = None
    # published versions kept, the current one included: `citybench rollback` can go back to
    # any of the others (1 keeps none). Each is a whole DuckDB file.
    keep_versions: Annotated[int, Field(ge=1, le=100)] = DEFAULT_KEEP_VERSIONS


class RefreshSettings(Section):
    sources: list[str] = Field(default_factory=lambda: [OFFLINE_DEFAULT])


Positive = Annotated[float, Field(gt=0)]


class QualitySettings(Section):
    yoy_jump: Positive = 0.5
    robust_z: Positive = 3.5
    min_cities: Annotated[int, Field(gt=0)] = 10


class PeersSettings(Section):
    """Peer lists saved by name: `citybench compare CITY --peers NAME`. Each city is given as
    the command takes one: 'gn:ID', 'Name, CC' or a name that names one city."""

    lists: dict[str, list[str]] = Field(default_factory=dict)


class SourceSettings(Section):
    """What every source's table may hold; a source with settings of its own subclasses it."""

    # a file's URL by the source's name for it: fetch it from elsewhere (an internal mirror)
    urls: dict[str, str] = Field(default_factory=dict)
    # 0 refuses any bad row; 1 loads whatever passes
    max_rejected_share: Annotated[float, Field(ge=0, le=1)] = DEFAULT_MAX_REJECTED_SHARE
    # records no city is found for (None: the share the source states in publishers.toml,
    # else DEFAULT_MAX_UNRESOLVED_SHARE)
    max_unresolved_share: Annotated[float, Field(ge=0, le=1)] | None = None
    # the file these settings came from (None: defaults); paths in it are relative to it
    _file: Path | None = PrivateAttr(default=None)

    @property
    def file(self) -> Path | None:
        return self._file

    @property
    def folder(self) -> Path:
        return Path.cwd() if self._file is None else self._file.parent


class Config(BaseModel):
    """Every setting of one command; `file` is where they came from (None: all defaults)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    file: Path | None = None
    sha256: str | None = None
    warehouse: WarehouseSettings = WarehouseSettings()
    refresh: RefreshSettings = RefreshSettings()
    quality: QualitySettings = QualitySettings()
    peers: PeersSettings = PeersSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)

    @model_serializer
    def _named(self) -> dict[str, Any]:
        # Where a config is recorded (a Prefect flow run's parameters), the file and its hash
        # say which settings were used; its values may hold credentials and are left out.
        return {"file": None if self.file is None else str(self.file), "sha256": self.sha256}

    def source(self, source_id: str, kind: type[SourceSettings] = SourceSettings):
        """A source's settings: from its table, else its defaults."""
        found = self.sources.get(source_id)
        if found is None:
            found = kind()
            found._file = self.file
        return found

    def db(self, explicit: str | os.PathLike[str] | None = None) -> Path:
        """The warehouse: --db, else $CITYBENCH_DB, else [warehouse] db, else the default."""
        if explicit:
            return Path(explicit)
        if env := os.environ.get("CITYBENCH_DB"):
            return Path(env)
        if self.warehouse.db:
            folder = self.file.parent if self.file else Path.cwd()
            return folder / self.warehouse.db
        return DEFAULT_DB


def config_path() -> Path:
    return Path(os.environ.get("CITYBENCH_CONFIG", CONFIG_FILE))


def read(
    path: Path | None = None, sources: Mapping[str, type[SourceSettings]] | None = None
) -> Config:
    """Parse the config file. `sources` maps each source's id to its settings class: every
    [sources.<id>] table is then checked and an unknown id refused; without it the sources'
    tables are not checked (commands that run no source)."""
    path = config_path() if path is None else path
    if not path.is_file():
        if "CITYBENCH_CONFIG" in os.environ and path == config_path():
            raise ConfigError(f"{path}: no such file ($CITYBENCH_CONFIG)")
        return Config()
    try:
        content = path.read_bytes()
        document = tomllib.loads(content.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not a readable TOML file: {error}") from None
    known = {"warehouse", "refresh", "quality", "peers", "sources"}
    if unknown := sorted(set(document) - known):
        raise ConfigError(
            f"{path}: unknown table [{unknown[0]}]; known: {', '.join(sorted(known))}")
    sections = {
        name: _section(path, f"[{name}]", kind, document.get(name, {}))
        for name, kind in (("warehouse", WarehouseSettings), ("refresh", RefreshSettings),
                           ("quality", QualitySettings), ("peers", PeersSettings))
    }
    tables = document.get("sources", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: sources: expected tables [sources.<id>], found {tables!r}")
    parsed = {}
    if sources is not None:
        for source_id, table in tables.items():
            if source_id not in sources:
                raise ConfigError(f"{path}: [sources.{source_id}]: unknown source; known: "
                                  f"{', '.join(sources)}")
            parsed[source_id] = _section(path, f"[sources.{source_id}]", sources[source_id],
                                         table)
            parsed[source_id]._file = path.resolve()
    return Config(file=path.resolve(), sha256=hashlib.sha256(content).hexdigest(),
                  sources=parsed, **sections)


def _section(path: Path, name: str, kind: type[Section], table: object) -> Section:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {name}: expected a table of settings, found {table!r}")
    try:
        return kind.model_validate(table)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_first_problem(name, kind, error)}") from None


def _first_problem(name: str, kind: type[Section], error: ValidationError) -> str:
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    if problem["type"] == "extra_forbidden":
        known = ", ".join(kind.model_fields) or "none"
        return f"{name} {key}: unknown key; known: {known}"
    if problem["type"] == "value_error":  # a validator's own words, which name the value
        return f"{name} {key}: {problem['ctx']['error']}"
    message = problem["msg"][0].lower() + problem["msg"][1:]
    return f"{name} {key}: {message}, found {redact_text(repr(problem['input']))}"
