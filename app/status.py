"""`citybench status`: what is published, and how fresh each source is. Reads only DuckDB."""

from __future__ import annotations

from pathlib import Path

from warehouse.connect import open_read_only

_PER_SOURCE = """
WITH last_run AS (
    SELECT source_id, arg_max(status, load_id) AS last_status,
           arg_max(error, load_id) AS last_error,
           max(finished_at) AS last_run_at
    FROM "load" GROUP BY source_id
), last_success AS (
    SELECT source_id, max(finished_at) AS refreshed_at FROM "load"
    WHERE status = 'success' GROUP BY source_id
), held AS (
    -- a source's facts: observations, memberships in networks, links between cities
    SELECT source_id, count(*) AS observations FROM (
        SELECT source_id FROM observation UNION ALL SELECT source_id FROM membership
        UNION ALL SELECT source_id FROM city_link
    ) GROUP BY source_id
)
SELECT ids.source_id, ls.refreshed_at, coalesce(h.observations, 0), r.last_status,
       r.last_error, r.last_run_at, s.dataset_version
-- a source that has never loaded has no row in `source` yet, only failed loads
FROM (SELECT source_id FROM source UNION SELECT source_id FROM "load") ids
LEFT JOIN source s USING (source_id)
LEFT JOIN last_run r USING (source_id)
LEFT JOIN last_success ls USING (source_id)
LEFT JOIN held h USING (source_id)
ORDER BY ids.source_id
"""


def _when(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if ts else "never"


def status_lines(db: Path) -> list[str]:
    con = open_read_only(db)
    try:
        version = con.execute(
            "SELECT version, published_at FROM publication ORDER BY version DESC LIMIT 1"
        ).fetchone()
        rows = con.execute(_PER_SOURCE).fetchall()
    finally:
        con.close()
    if version is None:
        return [f"{db}: no version published yet"]
    lines = [f"{db}: published version {version[0]} at {_when(version[1])}"]
    for source_id, refreshed, observations, last_status, last_error, last_run, dataset in rows:
        lines.append(
            f"  {source_id}: "
            + (f"last refreshed {_when(refreshed)}" if refreshed else "never refreshed")
            + f", {observations:,} rows held"
            + (f" ({dataset})" if dataset else "")
        )
        if last_status == "failed":
            lines.append(f"    last run FAILED at {_when(last_run)}: {last_error}")
    return lines
