"""The sources a refresh can run, in load order."""

from flows.sources.base import Source
from flows.sources.cdp import Cdp
from flows.sources.eurostat import Eurostat
from flows.sources.gawc import Gawc
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.geonames_dump import GeonamesDump
from flows.sources.memberships import ClimActor
from flows.sources.oecd import Oecd
from flows.sources.openflights import OpenFlights
from flows.sources.twincities import TwinCities
from flows.sources.un_wup import UnWup
from flows.sources.user_files import UserFiles
from flows.sources.wikidata import Wikidata
from flows.sources.worldbank import WorldBank

# In load order: the registry first, so every other source resolves against the new one.
SOURCES: dict[str, type[Source]] = {
    source.meta.source_id: source for source in (
        GeonamesCache,
        GeonamesDump,
        UnWup,
        Eurostat,
        WorldBank,
        Oecd,
        Cdp,
        UserFiles,
        Gawc,
        ClimActor,
        OpenFlights,
        Wikidata,
        TwinCities,
    )
}
