"""What `citybench status` reads: the published version and each source's freshness.

Plain DuckDB, no pandas: the command answers in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.connect import open_read_only


def source_status(db: Path) -> tuple[tuple | None, list[tuple]]:
    """For `citybench status`: the published version (number, time) and, per source, its last
    successful refresh, rows held, last run's status, error and time, data vintage, the starter
    snapshot's version when its values are the snapshot's, when its data were retrieved, the
    publisher's cadence (or since when it no longer updates the data), and of its last
    successful load the records no city was found for, of how many."""
    con = open_read_only(db)
    try:
        con.execute("SET TimeZone = 'UTC'")  # stored with their zone, shown in UTC
        version = con.execute(
            "SELECT version, published_at FROM publication ORDER BY version DESC LIMIT 1"
        ).fetchone()
        return version, con.execute(_PER_SOURCE).fetchall()
    finally:
        con.close()


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
), held AS ({HELD})
SELECT ids.source_id, ls.refreshed_at, coalesce(h.rows_held, 0), r.last_status,
       r.last_error, r.last_run_at, s.dataset_version, s.snapshot, s.retrieved_at,
       s.cadence_days, s.frozen_since, lo.records_unresolved, lo.records_to_resolve
-- a source that has never loaded has no row in `source` yet, only failed loads
FROM (SELECT source_id FROM source UNION SELECT source_id FROM "load") ids
LEFT JOIN source s USING (source_id)
LEFT JOIN last_run r USING (source_id)
LEFT JOIN last_success ls USING (source_id)
LEFT JOIN "load" lo ON lo.load_id = ls.load_id
LEFT JOIN held h USING (source_id)
ORDER BY ids.source_id
"""
