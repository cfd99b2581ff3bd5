"""One module per publisher; SOURCES names the ones a refresh can run."""

from flows.sources.base import Source
from flows.sources.geonames_cache import GeonamesCache
from flows.sources.un_wup import UnWup

# In load order: the registry first, so every other source resolves against the new one.
SOURCES: dict[str, type[Source]] = {
    source.meta.source_id: source for source in (GeonamesCache, UnWup)
}
