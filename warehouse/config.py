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

    [schedules]                           # `citybench serve`: settings of every scheduled run
    timeout_seconds = 3600                # a source's fetch, each attempt
    retries = 2                           # a failed fetch is tried again after 60 s, 120 s, ...
    retry_delay_seconds = 60
    mirror = "/srv/mirror"                # read every URL from a mirror (see refresh --mirror)
    [schedules.geonames]                  # a group: its cron and its sources (defaults: README)
    cron = "0 3 * * 1"
    sources = ["geonames"]

    [notify]                              # the webhook called on a failed or stale source
    webhook_url_env = "CITYBENCH_WEBHOOK_URL"  # the variable holding its URL (never the file)
    on_failed = true
    on_stale = true

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
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_serializer,
    model_validator,
)

# the paths, also read without this module's model (pydantic); CONFIG_FILE and DEFAULT_DB
# are read here by callers
from warehouse.config_paths import (  # noqa: F401
    CONFIG_FILE,
    DEFAULT_DB,
    config_path,
    warehouse_path,
)
from warehouse.redact import redact_text

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


def _environment_name(name: str) -> str:
    # the value is not quoted: a URL pasted here by mistake is the secret itself
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError("expected the name of an environment variable (letters, digits, _), "
                         "not its value")
    return name


def _block_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError("expected the name of a Prefect Secret block (lowercase letters, "
                         "digits, -), not its value")
    return name


class NotifySettings(Section):
    """[notify]: the webhook called on a failed source (by a refresh, and by `citybench status
    --notify`) or a stale one (by `status --notify`); warehouse/notify.py. Its URL is a secret,
    so the file names where it is kept: the environment variable `webhook_url_env`, else (read
    by a refresh only) the Prefect Secret block `webhook_secret_block`."""

    webhook_url_env: Annotated[str, AfterValidator(_environment_name)] = "CITYBENCH_WEBHOOK_URL"
    webhook_secret_block: Annotated[str, AfterValidator(_block_name)] | None = None
    on_failed: bool = True
    on_stale: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_url_in_the_file(cls, table: object) -> object:
        if isinstance(table, dict) and "webhook_url" in table:
            raise ValueError("webhook_url: the webhook's URL is a secret and is not read from "
                             "the file: set it in the environment variable webhook_url_env "
                             "names ($CITYBENCH_WEBHOOK_URL by default)")
        return table


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


# The crontab fields (minute hour day-of-month month day-of-week) and the values each takes.
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
                ("day of week", 0, 7))
_CRON_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                   "dec"],
               4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"}


def _cron_value(text: str, position: int, low: int, high: int) -> int:
    names = _CRON_NAMES.get(position, [])
    if text.lower() in names:
        return names.index(text.lower()) + (1 if position == 3 else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not a {_CRON_FIELDS[position][0]} ({low}-{high})")
    return int(text)


def check_cron(expression: str) -> str:
    """A crontab line of five fields (or @daily, @weekly, ...), checked here without Prefect,
    whose parser takes seconds to import: * a a-b lists a,b and steps */n a-b/n."""
    fields = expression.split()
    if expression.strip() in _CRON_MACROS:
        return expression
    if len(fields) != 5:
        raise ValueError(f"{expression!r} is not a cron expression: five fields "
                         "(minute hour day-of-month month day-of-week) or @daily, @weekly, ...")
    for position, (field, (_, low, high)) in enumerate(zip(fields, _CRON_FIELDS, strict=True)):
        for part in field.split(","):
            span, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(f"{expression!r}: step {step!r} is not a positive number")
            if span != "*":
                first, _, last = span.partition("-")
                values = [_cron_value(v, position, low, high) for v in (first, last) if v]
                if len(values) == 2 and values[0] > values[1]:
                    raise ValueError(f"{expression!r}: range {span!r} runs backwards")
    return expression


class ScheduleGroup(Section):
    """[schedules.<group>]: sources refreshed together on one cron schedule."""

    cron: Annotated[str, AfterValidator(check_cron)]
    sources: list[str]  # checked against the catalogue by flows/sources/catalog.py
    timeout_seconds: Annotated[int, Field(gt=0)] | None = None  # None: [schedules]' own
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    mirror: str | None = None


# Served when the config file names no group of that name (README "Scheduled refreshes"): each
# publisher about as often as it updates, at night, one group at a time. Neither the starter
# snapshot nor the users' files are scheduled unless a group names them, nor are the sources
# whose terms are non-commercial or unstated (cdp, climactor, gawc): loading them is a user's
# choice, made by naming them in a group.
DEFAULT_SCHEDULES = {
    "geonames": {"cron": "0 3 * * 1", "sources": ["geonames"]},             # weekly, Monday
    "links": {"cron": "0 4 * * 1", "sources": ["openflights", "wikidata"]},  # weekly, Monday
    "eurostat": {"cron": "0 3 1 * *", "sources": ["eurostat"]},             # monthly, the 1st
    "indicators": {"cron": "0 4 2 * *", "sources": ["worldbank", "oecd"]},   # monthly, the 2nd
    "un-wup": {"cron": "0 3 1 1 *", "sources": ["un-wup"]},                 # yearly, 1 January
    "networks": {"cron": "0 4 2 1 *", "sources": ["twincities"]},          # yearly, 2 January
}


class SchedulesSettings(Section):
    """[schedules]: what `citybench serve` runs when (`groups`, each a [schedules.<group>]
    table merged over DEFAULT_SCHEDULES; a group with `sources = []` is not served), and how
    every scheduled run fetches: per source, a timeout of each attempt and retries after
    retry_delay_seconds, doubled each time."""

    timeout_seconds: Annotated[int, Field(gt=0)] = 3600
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    retry_delay_seconds: Annotated[float, Field(ge=0)] = 60.0
    mirror: str | None = None
    groups: dict[str, ScheduleGroup] = Field(default_factory=lambda: {
        name: ScheduleGroup.model_validate(table) for name, table in DEFAULT_SCHEDULES.items()})

    def served(self) -> dict[str, ScheduleGroup]:
        return {name: group for name, group in self.groups.items() if group.sources}

    def delays(self, retries: int) -> list[float]:
        """Seconds before each retry: exponential backoff."""
        return [self.retry_delay_seconds * 2 ** attempt for attempt in range(retries)]


class Config(BaseModel):
    """Every setting of one command; `file` is where they came from (None: all defaults)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    file: Path | None = None
    sha256: str | None = None
    warehouse: WarehouseSettings = WarehouseSettings()
    refresh: RefreshSettings = RefreshSettings()
    quality: QualitySettings = QualitySettings()
    peers: PeersSettings = PeersSettings()
    notify: NotifySettings = NotifySettings()
    schedules: SchedulesSettings = SchedulesSettings()
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
        return warehouse_path(explicit, self.warehouse.db, self.file)


def hand_on(config: Config) -> None:
    """The processes this one starts (a scheduled run's) read the same file, wherever their
    working directory is."""
    if config.file is not None:
        os.environ["CITYBENCH_CONFIG"] = str(config.file)


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
    known = {"warehouse", "refresh", "quality", "peers", "schedules", "notify", "sources"}
    if unknown := sorted(set(document) - known):
        raise ConfigError(
            f"{path}: unknown table [{unknown[0]}]; known: {', '.join(sorted(known))}")
    sections = {
        name: _section(path, f"[{name}]", kind, document.get(name, {}))
        for name, kind in (("warehouse", WarehouseSettings), ("refresh", RefreshSettings),
                           ("quality", QualitySettings), ("peers", PeersSettings),
                           ("notify", NotifySettings))
    }
    sections["schedules"] = _schedules(path, document.get("schedules", {}))
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


def _schedules(path: Path, table: object) -> SchedulesSettings:
    """[schedules]: its own keys, and a [schedules.<group>] table per group, each key of it
    over the default group of its name (`sources = []` alone turns a default group off)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [schedules]: expected a table of settings, found {table!r}")
    own = {key: value for key, value in table.items() if not isinstance(value, dict)}
    settings = _section(path, "[schedules]", SchedulesSettings, own)
    groups = dict(settings.groups)
    for name, group in table.items():
        if isinstance(group, dict):
            groups[name] = _section(path, f"[schedules.{name}]", ScheduleGroup,
                                    {**DEFAULT_SCHEDULES.get(name, {}), **group})
    return settings.model_copy(update={"groups": groups})


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
        # (a check of the whole table has no key: its words name it)
        return f"{name} {key}: {problem['ctx']['error']}" if key else (
            f"{name} {problem['ctx']['error']}")
    message = problem["msg"][0].lower() + problem["msg"][1:]
    return f"{name} {key}: {message}, found {redact_text(repr(problem['input']))}"
