"""What `citybench status` reads: the published version and each source's runs and freshness.

Plain DuckDB, no pandas: the command answers in a fraction of a second.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from warehouse.connect import reading
from warehouse.quality import freshness_records


class Status(NamedTuple):
    """The published version (number, time) or None; per source, the columns of _PER_SOURCE
    and its freshness on the day asked (warehouse/quality.py `freshness`, by source id)."""

    version: tuple | None
    sources: list[dict]
    freshness: dict[str, dict]


def source_status(db: Path, as_of: datetime) -> Status:
    """For `citybench status`: the published version and, per source, its last successful
    refresh, rows held, last run's status, error and time, its last failure and why, data
    vintage, the starter snapshot's version when its values are the snapshot's, when its data
    were retrieved, the publisher's cadence (or since when it no longer updates the data), of
    its last successful load the records no city was found for, of how many; and whether it
    is stale on `as_of`, by the one rule of the quality checks."""
    with reading(db) as con:
        version = con.execute(
            "SELECT version, published_at FROM publication ORDER BY version DESC LIMIT 1"
        ).fetchone()
        cursor = con.execute(_PER_SOURCE)
        names = [column[0] for column in cursor.description]
        sources = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        fresh = {row["source_id"]: row for row in freshness_records(con, as_of)}
    return Status(version, sources, fresh)


# A source's facts, each with its dataset: its observations, memberships in networks and links
# between cities. The one definition of the "rows held" that `citybench status`, the Sources
# page and the datasets table count.
FACTS = """
SELECT source_id, dataset_id FROM observation
UNION ALL SELECT source_id, dataset_id FROM membership
UNION ALL SELECT source_id, dataset_id FROM city_link
"""

# Rows held per source: a source that holds nothing has no row (count it as 0).
HELD = f"SELECT source_id, count(*) AS rows_held FROM ({FACTS}) GROUP BY source_id"


_PER_SOURCE = f"""
WITH last_run AS (
    SELECT source_id, arg_max(status, load_id) AS last_status,
           arg_max(error, load_id) AS last_error,
           max(finished_at) AS last_run_at
    FROM "load" GROUP BY source_id
), last_success AS (
    SELECT source_id, max(finished_at) AS refreshed_at, max(load_id) AS load_id FROM "load"
    WHERE status = 'success' GROUP BY source_id
), last_failure AS (
    SELECT source_id, max(finished_at) AS failed_at, arg_max(error, load_id) AS failure
    FROM "load" WHERE status = 'failed' GROUP BY source_id
), held AS ({HELD})
SELECT ids.source_id, ls.refreshed_at, coalesce(h.rows_held, 0) AS rows_held, r.last_status,
       r.last_error, r.last_run_at, f.failed_at, f.failure, s.dataset_version, s.snapshot,
       s.retrieved_at, s.cadence_days, s.frozen_since, lo.records_unresolved,
       lo.records_to_resolve
-- a source that has never loaded has no row in `source` yet, only failed loads
FROM (SELECT source_id FROM source UNION SELECT source_id FROM "load") ids
LEFT JOIN source s USING (source_id)
LEFT JOIN last_run r USING (source_id)
LEFT JOIN last_success ls USING (source_id)
LEFT JOIN last_failure f USING (source_id)
LEFT JOIN "load" lo ON lo.load_id = ls.load_id
LEFT JOIN held h USING (source_id)
ORDER BY ids.source_id
"""
