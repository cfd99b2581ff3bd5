"""What every source reads in the tests: for each catalogued source, the real file that answers
each of its publisher's URLs (read in place from ../shared/opendata, or the small real files of
tests/data), the mirror made of links to them, and each source run on its sample once per
session (parsed, validated, conformed against the registry) for the battery and the source's
own tests to share.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flows.pipeline import PLAIN, LoadReport, load_source
from flows.sources.base import Conformed, Extracted, Registry, Source
from flows.sources.catalog import SOURCES
from flows.sources.cdp import REPORTS_2016, REPORTS_2017, Cdp
from flows.sources.eurostat import CODELIST, FORMULAS, Eurostat
from flows.sources.gawc import MATRICES, Gawc
from flows.sources.geonames_dump import CITIES, COUNTRIES, GeonamesDump
from flows.sources.geonames_registry import GeonamesRegistry
from flows.sources.memberships import ClimActor
from flows.sources.oecd import DENSITY, ECONOMY, POPULATION, Oecd
from flows.sources.openflights import OpenFlights
from flows.sources.twincities import GEOCODED, LISTED, TwinCities
from flows.sources.un_wup import F12, UnWup
from flows.sources.user_files import UserFiles
from flows.sources.wikidata import Wikidata
from flows.sources.worldbank import COUNTRIES as WB_COUNTRIES
from flows.sources.worldbank import GDP_PER_CAPITA, WorldBank, page_url
from flows.sources.worldbank import POPULATION as WB_POPULATION
from flows.transport import HttpTransport, Transport, mirror_path
from tests.conftest import LOG, ROOT, SHARED, load
from tests.http_server import FileServer
from warehouse.connect import open_read_write
from warehouse.migrate import migrate
from warehouse.registry import read_registry
from warehouse.validation import Outcome

OPENDATA = SHARED / "opendata"
DATA = ROOT / "tests" / "data"
USER_FILES = [DATA / "user" / name for name in ("good.csv", "good.xlsx", "good.parquet")]

CDP = OPENDATA / "cdp"
CLIMACTOR = OPENDATA / "climactor"
EUROSTAT = OPENDATA / "eurostat-urban-audit"
GAWC = OPENDATA / "gawc" / "fsu-2015-2018" / "Data" / "RawData"
GEONAMES = OPENDATA / "geonames"
OPENFLIGHTS = OPENDATA / "openflights"
TWINCITIES = OPENDATA / "twincities"
WUP = OPENDATA / "un-wup-2018"
WIKIDATA_REAL = OPENDATA / "wikidata" / "staedtl_body.eu.sparql-results.json"

# The real answer has the shape of Wikidata's cities query (labels, country, point,
# population) but not its QIDs or dates; the other queries are answered by files written for
# the tests (tests/data/wikidata/README.md).
WIKIDATA_ANSWERS = {
    "countries": DATA / "wikidata" / "countries.sparql.json",
    "cities": WIKIDATA_REAL,
    "areas": DATA / "wikidata" / "areas.sparql.json",
    "networks": DATA / "wikidata" / "networks.sparql.json",
    "twinning": DATA / "wikidata" / "twinning.sparql.json",
}
WORLDBANK_PAGES = {  # request -> (file name, pages)
    GDP_PER_CAPITA: ("gdp-per-capita", 2),
    WB_POPULATION: ("population", 2),
    WB_COUNTRIES: ("country", 1),
}
OECD_FILES = {POPULATION: "fua-population.csv", DENSITY: "fua-density.csv",
              ECONOMY: "fua-economy.csv"}

# Per source: the publisher's URL -> the real file that answers it. Sources that read no URL
# by default (the packaged registry, the users' own files) have none.
PUBLISHED_FILES: dict[str, dict[str, Path]] = {
    "geonames-dump": {
        # the zip the publisher serves holds cities15000.txt; the source reads either
        GeonamesDump.urls[CITIES]: GEONAMES / "cities15000.txt",
        GeonamesDump.urls[COUNTRIES]: GEONAMES / "countryInfo.txt",
    },
    # F22 has no real file here: F12 alone must load
    "un-wup": {UnWup.urls[F12]: WUP / F12},
    # urb_cecfi and urb_cpop1 are answered by Eurostat's real files (the 2018 bulk TSV; the
    # legacy Data Explorer export, there being no current-API copy of urb_cpop1: parse()
    # reads whichever format it is given), the code list by the real 2017 Urban Audit code
    # list, the annex by its real CSV copy; the four datasets of which no real file exists by
    # files written for the tests (tests/data/eurostat, invented values).
    "eurostat": {
        Eurostat.urls[CODELIST]: EUROSTAT / "regions.csv",
        Eurostat.urls[FORMULAS]: EUROSTAT / "urb_esms_an2.csv",
        Eurostat.urls["urb_cecfi"]: EUROSTAT / "urb_cecfi.tsv",
        Eurostat.urls["urb_cpop1"]: EUROSTAT / "urb_cpop1_1_Data.csv",
        **{Eurostat.urls[name]: DATA / "eurostat" / f"{name}.json"
           for name in ("urb_cpopcb", "urb_ctour", "urb_clma", "urb_cenv")},
    },
    "worldbank": {
        page_url(WorldBank.urls[name], page): DATA / "worldbank" / f"{slug}-page-{page}.json"
        for name, (slug, pages) in WORLDBANK_PAGES.items()
        for page in range(1, pages + 1)
    },
    "oecd": {Oecd.urls[name]: DATA / "oecd" / file for name, file in OECD_FILES.items()},
    "cdp": {
        Cdp.urls[REPORTS_2016]: CDP / "2016_-_Citywide_GHG_Emissions_20240207.csv",
        Cdp.urls[REPORTS_2017]: CDP / "2017_-_Cities_Community_Wide_Emissions.csv",
    },
    "gawc": {Gawc.urls[m.file]: GAWC / m.file for m in MATRICES},
    "climactor": {url: CLIMACTOR / name for name, url in ClimActor.urls.items()},
    "openflights": {url: OPENFLIGHTS / name for name, url in OpenFlights.urls.items()},
    "wikidata": {Wikidata.urls[name]: path for name, path in WIKIDATA_ANSWERS.items()},
    "twincities": {
        TwinCities.urls[GEOCODED]: TWINCITIES / "twincities_geocoded.csv",
        TwinCities.urls[LISTED]: TWINCITIES / "twincities_raw.csv",
    },
}


def every_published_file() -> dict[str, Path]:
    return {url: path for files in PUBLISHED_FILES.values() for url, path in files.items()}


def needs_shared(name: str) -> bool:
    """Whether the source's sample is (partly) read from ../shared."""
    return any(path.is_relative_to(SHARED) for path in PUBLISHED_FILES.get(name, {}).values())


def needs_sample(name: str) -> pytest.MarkDecorator:
    """Skip the tests of the source `name` where its sample is in ../shared and that is absent."""
    return pytest.mark.skipif(needs_shared(name) and not OPENDATA.is_dir(),
                              reason="../shared/opendata is absent")


def sample_fixture(name: str):
    """A test module's fixture `run`: the source `name` loaded from its sample (sample_run)."""
    @pytest.fixture(scope="module", name="run")
    def run(registry, tmp_path_factory) -> SampleRun:
        return sample_run(name, registry, tmp_path_factory)
    return run


def make_mirror(root: Path, files: dict[str, Path]) -> Path:
    """A mirror directory laid out like the URLs, made of links to the real files (no copy)."""
    for url, path in files.items():
        link = mirror_path(root, url)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path.resolve())
    return root


def sample_source(name: str) -> Source:
    """The catalogued source as it reads its sample: with its defaults, the users' source with
    the good files of tests/data/user listed."""
    if name == "user":
        return UserFiles(UserFiles.Settings(files=[str(path) for path in USER_FILES]))
    return SOURCES[name]()


def read_registry_file(db: Path) -> Registry:
    """The registry a warehouse file holds."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return read_registry(con)
    finally:
        con.close()


class Recorder:
    """The pipeline's plain steps, each one's result kept: what a load fetched, parsed, judged
    and conformed. (The steps a load runs are its extension point: the refresh flow wraps the
    same ones as Prefect tasks.)"""

    def __init__(self) -> None:
        self.kept: dict[str, object] = {}
        self.steps = PLAIN._replace(extract=self._keeping("extracted", PLAIN.extract),
                                    parse=self._keeping("parsed", PLAIN.parse),
                                    validate=self._validate, conform=self._conform)

    def _keeping(self, name: str, step: Callable) -> Callable:
        def kept(*args, **kwargs):
            self.kept[name] = step(*args, **kwargs)
            return self.kept[name]
        return kept

    def _validate(self, stage: str, *args, **kwargs):
        return self._keeping(stage, PLAIN.validate)(stage, *args, **kwargs)

    def _conform(self, source: Source, raw, registry: Registry, *, log):
        self.kept["registry"] = registry
        return self._keeping("conformed", PLAIN.conform)(source, raw, registry, log=log)


@dataclass(frozen=True)
class SampleRun:
    """A source's sample loaded into a warehouse as a refresh loads it, with what each step
    made on the way."""

    source: Source
    db: Path  # the warehouse it was loaded into
    report: LoadReport
    extracted: Extracted
    parsed: dict[str, pd.DataFrame]
    raw: dict[str, Outcome]  # every raw frame against its model
    registry: Registry  # as the load read it before conforming
    conformed: Conformed
    canonical: dict[str, Outcome]  # every canonical frame against its contract

    def valid(self, frame: str) -> pd.DataFrame:
        return self.raw[frame].valid


_RUNS: dict[tuple[str, Path], SampleRun] = {}


def sample_run(name: str, registry_db: Path, tmp_path_factory) -> SampleRun:
    """The source `name` loaded from its sample, fetched over HTTP from a real server on
    127.0.0.1 serving a mirror of its PUBLISHED_FILES: once per session, as conforming the
    larger samples takes seconds. A source is loaded into a copy of the registry's warehouse,
    a GeoNames edition into an empty one, which it builds. The warehouse is the caller's to
    read, not to change."""
    key = (name, registry_db)
    if key not in _RUNS:
        folder = tmp_path_factory.mktemp(f"sample-{name}")
        db = folder / "warehouse.duckdb"
        if not issubclass(SOURCES[name], GeonamesRegistry):
            shutil.copyfile(registry_db, db)
        mirror = make_mirror(folder / "mirror", PUBLISHED_FILES.get(name, {}))
        recorder, source = Recorder(), sample_source(name)
        with served_over_http(mirror, folder / "http-cache", as_mirror=True) as (_, transport):
            report = load_recorded(db, source, transport, recorder)
        assert report.status == "success", report.error
        kept = recorder.kept
        _RUNS[key] = SampleRun(source, db, report, kept["extracted"], kept["parsed"], kept["raw"],
                               kept["registry"], kept["conformed"], kept["canonical"])
    return _RUNS[key]


def load_recorded(db: Path, source: Source, transport: Transport,
                  recorder: Recorder) -> LoadReport:
    """tests.conftest.load, with the steps of `recorder`."""
    con = open_read_write(db)
    try:
        migrate(con)
        return load_source(con, source, transport, None, log=LOG, run=recorder.steps)
    finally:
        con.close()


@contextmanager
def served_over_http(served: Path, cache: Path, *,
                     as_mirror: bool) -> Iterator[tuple[str, HttpTransport]]:
    """A real HTTP server on 127.0.0.1 serving the folder `served` under {url}/files/, and a
    transport to it: one that fetches the URLs it is given, or (`as_mirror`) one that fetches
    every publisher's URL from the server, the folder being a mirror of them."""
    with FileServer(served) as server:
        transport = HttpTransport(cache, mirror=f"{server.url}/files" if as_mirror else None)
        try:
            yield server.url, transport
        finally:
            transport.close()


def load_over_http(db: Path, served: Path, make_source: Callable[[str], Source]) -> LoadReport:
    """A source loaded into `db` with its files fetched from a real HTTP server serving
    `served` (served_over_http), at the URLs its settings give: the source is made with the
    server's URL (`make_source`)."""
    with served_over_http(served, db.parent / "http-cache", as_mirror=False) as (url, http):
        return load(db, make_source(url), http)
