"""Practices and lessons as the warehouse holds them (table `practice`, loaded from users'
files): what cities tried, how it turned out (worked, mixed, failed) and what was learned."""

from __future__ import annotations

from warehouse.columns import rows
from warehouse.connect import Connection

# how a practice turned out: a failure is as much a lesson as a success
OUTCOMES = ("worked", "mixed", "failed")
COLUMNS = ["city_id", "city_name", "title", "year", "dimension", "indicators", "outcome",
           "lesson", "source_url", "licence", "source_file"]


def practices(con: Connection, city_ids: list[str] | None = None, outcome: str | None = None,
              dimension: str | None = None) -> list[dict]:
    """A row (COLUMNS) for every practice held (of `city_ids`, of one `outcome`, of one
    `dimension`, case aside), by city, latest year first; `indicators` as a list of ids,
    `source_file` the file it came from. A warehouse made before practices were held has none."""
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"outcome: expected one of {', '.join(OUTCOMES)}, found {outcome!r}")
    if not has_practices(con):
        return []
    found = rows(con, """
        SELECT p.city_id, c.name AS city_name, p.title, p.year, p.dimension, p.indicators,
               p.outcome, p.lesson, p.source_url, p.licence, p.dataset_id AS source_file
        FROM practice p LEFT JOIN city c USING (city_id)
        WHERE ($cities IS NULL OR list_contains($cities, p.city_id))
          AND ($outcome IS NULL OR p.outcome = $outcome)
          AND ($dimension IS NULL OR lower(p.dimension) = lower($dimension))
        ORDER BY p.city_id, p.year DESC, p.title
    """, {"cities": city_ids, "outcome": outcome, "dimension": dimension})
    for row in found:  # stored ';'-separated, as in a CSV cell (migrations/008_practice.sql)
        ids = row["indicators"]
        row["indicators"] = ids.split(";") if isinstance(ids, str) else []
    return found


def has_practices(con: Connection) -> bool:
    """Whether the warehouse has the practice table (migration 008)."""
    return con.execute("SELECT count(*) FROM information_schema.tables "
                       "WHERE table_name = 'practice'").fetchone()[0] > 0
