"""Data quality beyond the contracts: checks that flag without rejecting, and the report.

A contract rejects a row that cannot be right (a share of 140%). These checks flag values
that may well be right but deserve a look before anyone draws conclusions from them:

- year-over-year jump: a value that changes by more than `yoy_jump` (default 50%) from the
  year before, for the same city, indicator and source;
- outlier: a robust z-score (Iglewicz and Hoaglin: 0.6745 (x - median) / MAD) beyond
  `robust_z` (default 3.5) among the cities of an indicator and year, on the log scale when
  every value is positive (city sizes and incomes are skewed: on the raw scale every large
  city would stand out);
- break in series: the publisher's own flag b;
- stale: a source not refreshed, or a dataset not updated by its publisher, within the
  source's usual cadence (cadence_days); a source its publisher no longer updates
  (frozen_since, e.g. OpenFlights' routes since 2014-06) is always stale, and says since when.
  Every source states one or the other in flows/sources/publishers.toml, but the users' own
  files and the GeoNames package.

Thresholds come from citybench.toml, [quality] (warehouse/config.py). The flags are recomputed
over the whole warehouse by every refresh, so they always describe the data published beside
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from warehouse.config import QualitySettings
from warehouse.connect import Connection

if TYPE_CHECKING:  # frames come from DuckDB; without the import `citybench status` stays quick
    import pandas as pd

# How publishers state a last update: HTTP Last-Modified, ISO 8601 with or without time.
_DATE_FORMATS = ["%a, %d %b %Y %H:%M:%S GMT", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]

# How publishers.toml states frozen_since: a year, a month or a day.
_FROZEN_FORMATS = ["%Y-%m-%d", "%Y-%m", "%Y"]

# A dataset's last update as its publisher states it (`d.last_update`), as a time.
_UPDATED = ("coalesce(try_cast(d.last_update AS TIMESTAMPTZ), "
            "try_strptime(d.last_update, $formats)::TIMESTAMPTZ)")


_JUMPS = """
WITH series AS (
    SELECT o.*, lag(o.value) OVER w AS before, lag(o.period) OVER w AS year_before
    FROM observation o
    WHERE o.indicator_id NOT IN (SELECT indicator_id FROM indicator WHERE unit = '0/1')
    WINDOW w AS (PARTITION BY o.city_id, o.indicator_id, o.source_id ORDER BY o.period)
)
SELECT source_id, 'year-over-year jump', city_id, indicator_id, dataset_id, period, value,
       printf('%+.0f%% from %d (%.4g) to %d (%.4g)', 100 * (value / before - 1), year_before,
              before, period, value)
FROM series
WHERE year_before = period - 1 AND before > 0 AND abs(value / before - 1) > $yoy_jump
"""

_OUTLIERS = """
WITH grouped AS (
    SELECT *, min(value) OVER g > 0 AS logged, count(*) OVER g AS cities
    FROM observation WINDOW g AS (PARTITION BY indicator_id, period, source_id)
), scaled AS (
    SELECT *, CASE WHEN logged THEN ln(value) ELSE value END AS x
    FROM grouped WHERE cities >= $min_cities
), centred AS (
    SELECT *, x - median(x) OVER g AS deviation
    FROM scaled WINDOW g AS (PARTITION BY indicator_id, period, source_id)
), z AS (
    SELECT *, 0.6745 * deviation / median(abs(deviation)) OVER g AS z
    FROM centred WINDOW g AS (PARTITION BY indicator_id, period, source_id)
)
SELECT source_id, 'outlier', city_id, indicator_id, dataset_id, period, value,
       printf('robust z-score %.1f among %d cities%s', z, cities,
              CASE WHEN logged THEN ' (log scale)' ELSE '' END)
FROM z
WHERE abs(z) > $robust_z AND isfinite(z)
"""

_BREAKS = """
SELECT source_id, 'break in series', city_id, indicator_id, dataset_id, period, value,
       printf('the publisher flags a break in series (flag %s)', flag)
FROM observation
WHERE contains(flag, 'b')
"""

_STALE = f"""
SELECT source_id, 'stale', NULL, NULL, NULL, NULL, NULL,
       printf('not refreshed for %d days; the publisher updates about every %d days',
              date_diff('day', retrieved_at, $as_of), cadence_days)
FROM source
WHERE cadence_days IS NOT NULL AND date_diff('day', retrieved_at, $as_of) > cadence_days
UNION ALL
SELECT source_id, 'stale', NULL, NULL, dataset_id, NULL, NULL,
       printf('last updated by the publisher %d days ago (%s); usually every %d days',
              date_diff('day', updated, $as_of), last_update, cadence_days)
FROM (
    SELECT d.*, s.cadence_days, {_UPDATED} AS updated
    FROM dataset d JOIN source s USING (source_id)
)
WHERE cadence_days IS NOT NULL AND date_diff('day', updated, $as_of) > cadence_days
UNION ALL
SELECT source_id, 'stale', NULL, NULL, NULL, NULL, NULL,
       printf('not updated by its publisher since %s (%d days ago): the publisher no longer '
              || 'updates this data', frozen_since, date_diff('day', frozen, $as_of))
FROM (SELECT *, try_strptime(frozen_since, $frozen_formats)::TIMESTAMPTZ AS frozen FROM source)
WHERE frozen_since IS NOT NULL
"""


def flag(con: Connection, as_of: datetime, thresholds: QualitySettings) -> int:
    """Replace the warehouse's quality flags with those of the data it holds now."""
    con.execute("DELETE FROM quality_flag")
    checks = [
        (_JUMPS, {"yoy_jump": thresholds.yoy_jump}),
        (_OUTLIERS, {"robust_z": thresholds.robust_z, "min_cities": thresholds.min_cities}),
        (_BREAKS, {}),
        (_STALE, {"as_of": as_of, "formats": _DATE_FORMATS,
                  "frozen_formats": _FROZEN_FORMATS}),
    ]
    for query, parameters in checks:
        con.execute(f"INSERT INTO quality_flag {query}", parameters)  # our own SQL text
    return con.execute("SELECT count(*) FROM quality_flag").fetchone()[0]


# --- the report: what a refresh publishes as an artifact and the app shows ----------------
def rejected_by_check(con: Connection, load_ids: list[int] | None = None):
    """Rejected rows by source and check, with an example reason; of the given loads, else of
    each source's latest load."""
    loads = (
        "SELECT unnest($ids::BIGINT[]) AS load_id" if load_ids is not None
        else 'SELECT max(load_id) AS load_id FROM "load" GROUP BY source_id'
    )
    return con.execute(
        f"""
        SELECT source_id, check_name, count(*) AS rows, min(reason) AS example
        FROM rejected WHERE load_id IN ({loads})
        GROUP BY source_id, check_name ORDER BY source_id, rows DESC, check_name
        """,  # one of two fixed texts above
        {"ids": load_ids} if load_ids is not None else {},
    ).df()


def flags_by_check(con: Connection) -> pd.DataFrame:
    return con.execute(
        """
        SELECT source_id, check_name, count(*) AS flags,
               arg_max(concat_ws(' ', city_id, indicator_id, dataset_id, period) || ': '
                       || detail, abs(coalesce(value, 0))) AS example
        FROM quality_flag GROUP BY source_id, check_name ORDER BY source_id, flags DESC
        """
    ).df()


# --- which flags to look at first: the one statement of the rule -----------------------------
# A jump by this factor or more (a value doubled or halved in a year) is rarely real.
HIGH_JUMP_FACTOR = 2.0
# Ratios, shares and rates jump by large factors whenever they are near zero (a population
# change of 0.01% then 3%): a factor says little about them.
RATIO_UNITS = ["%", "ratio", "ratio x 100", "share (0-1)", "share of the top (0-1)"]
# Sizes and shares of a whole are heavy-tailed: the largest cities always stand out.
SIZE_UNITS = ["persons", "cities", "routes", "countries", "continents", "%", "share (0-1)",
              "share of the top (0-1)"]
PRIORITIES = {
    "high": ("a year-over-year jump by a factor of 2 or more (doubled, halved, or fell to "
             "zero) in a count or an amount, not a ratio, share or rate"),
    "medium": ("the other year-over-year jumps, the breaks in series the publisher marks, "
               "outliers of indicators that are not sizes, stale data"),
    "low": ("outliers of sizes and shares of a whole (persons, cities, routes, countries; a "
            "share of the country's people; network centralities): heavy-tailed, so the "
            "largest cities are always outliers"),
}
CHECK_ORDER = ["year-over-year jump", "outlier", "break in series", "stale"]

# Every flag with its city, indicator, the year before (a jump's `before` and `factor`: the
# larger of the two values over the smaller; none when it fell to zero or below), its robust z
# (an outlier's, from the detail text _OUTLIERS writes) and its priority.
_PRIORITISED = """
WITH flagged AS (
    SELECT f.*, c.name AS city, c.country_iso2 AS country, i.name AS indicator, i.unit,
           p.value AS before,
           CASE WHEN f.check_name = 'year-over-year jump' AND f.value > 0
                THEN greatest(f.value / p.value, p.value / f.value) END AS factor,
           CASE WHEN f.check_name = 'outlier' THEN try_cast(
               regexp_extract(f.detail, '^robust z-score (-?[0-9.]+)', 1) AS DOUBLE) END AS z
    FROM quality_flag f
    LEFT JOIN city c USING (city_id)
    LEFT JOIN indicator i USING (indicator_id)
    LEFT JOIN observation p ON f.check_name = 'year-over-year jump'
         AND p.city_id = f.city_id AND p.indicator_id = f.indicator_id
         AND p.source_id = f.source_id AND p.period = f.period - 1
), prioritised AS (
    SELECT *, CASE
        WHEN check_name = 'year-over-year jump' AND NOT list_contains($ratio_units, unit)
             IS TRUE AND (value <= 0 OR factor >= $high_factor) THEN 'high'
        WHEN check_name = 'outlier' AND list_contains($size_units, unit) THEN 'low'
        ELSE 'medium' END AS priority
    FROM flagged
)
"""


def _rule() -> dict:
    return {"ratio_units": RATIO_UNITS, "size_units": SIZE_UNITS,
            "high_factor": HIGH_JUMP_FACTOR}


def flags_by_priority(con: Connection) -> pd.DataFrame:
    """Flags counted by priority, check, source and indicator (high first)."""
    return con.execute(
        f"""{_PRIORITISED}
        SELECT priority, check_name, source_id, indicator_id, any_value(indicator) AS indicator,
               count(*) AS flags
        FROM prioritised GROUP BY priority, check_name, source_id, indicator_id
        ORDER BY list_position($priorities, priority), flags DESC, source_id, indicator_id
        """,  # fixed SQL text
        _rule() | {"priorities": list(PRIORITIES)},
    ).df()


def prioritised_flags(con: Connection, priority: str | None = None, source_id: str | None = None,
                      check: str | None = None, indicator_id: str | None = None,
                      city: str | None = None) -> pd.DataFrame:
    """The flags, each with its priority, filtered by any of priority, source, check, indicator
    and a city's name (a part of it, ignoring case and accents); the highest priority first,
    then by check, the largest anomaly first (a jump's factor, an outlier's |z|)."""
    return con.execute(
        f"""{_PRIORITISED}
        SELECT priority, check_name, source_id, city_id, city, country, indicator_id, indicator,
               unit, dataset_id, period, value, before, factor, z, detail
        FROM prioritised
        WHERE ($priority IS NULL OR priority = $priority)
          AND ($source IS NULL OR source_id = $source)
          AND ($check IS NULL OR check_name = $check)
          AND ($indicator IS NULL OR indicator_id = $indicator)
          AND ($city IS NULL OR contains(strip_accents(lower(city)),
                                         strip_accents(lower(trim($city)))))
        ORDER BY list_position($priorities, priority), list_position($checks, check_name),
                 coalesce(factor, CASE WHEN check_name = 'year-over-year jump'
                                       THEN 'inf'::DOUBLE END, abs(z)) DESC NULLS LAST,
                 abs(value) DESC NULLS LAST, city, period
        """,  # fixed SQL text; every value a parameter
        _rule() | {"priorities": list(PRIORITIES), "checks": CHECK_ORDER, "priority": priority,
                   "source": source_id, "check": check, "indicator": indicator_id,
                   "city": city or None},
    ).df()


def freshness(con: Connection, as_of: datetime) -> pd.DataFrame:
    """Per source: when the refresh read its data (its last successful load), the date of the
    publisher's files, the publisher's latest update of its datasets and its vintage, how old
    the data is (since the publisher last changed it: frozen_since, else its latest update,
    else its files' date), its cadence (or since when its publisher no longer updates it),
    whether it is stale on `as_of` by the stale check's rule (_STALE) and why."""
    return _freshness(con, as_of).df()


def freshness_records(con: Connection, as_of: datetime) -> list[dict]:
    """`freshness`, as one dict per source: for `citybench status`, which does without pandas."""
    cursor = _freshness(con, as_of)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _freshness(con: Connection, as_of: datetime):
    return con.execute(
        f"""
        WITH read AS (
            SELECT source_id, max(finished_at) AS read_at FROM "load"
            WHERE status = 'success' GROUP BY source_id
        ), updated AS (
            SELECT source_id, max({_UPDATED}) AS publisher_update FROM dataset d
            GROUP BY source_id
        ), stale AS (  -- what the stale check finds on $as_of: the source, or which datasets
            SELECT f.source_id, bool_or(f.dataset_id IS NULL) AS files_old,
                   min({_UPDATED}) FILTER (WHERE f.dataset_id IS NOT NULL) AS stale_update
            FROM ({_STALE}) f(source_id, check_name, city_id, indicator_id, dataset_id, period,
                              value, detail)
            LEFT JOIN dataset d USING (source_id, dataset_id)
            GROUP BY f.source_id
        ), dated AS (
            SELECT s.*, r.read_at, u.publisher_update, st.source_id IS NOT NULL AS stale,
                   st.files_old, st.stale_update,
                   try_strptime(s.frozen_since, $frozen_formats)::TIMESTAMPTZ AS frozen
            FROM source s LEFT JOIN read r USING (source_id)
            LEFT JOIN updated u USING (source_id) LEFT JOIN stale st USING (source_id)
        )
        SELECT source_id, read_at, retrieved_at, publisher_update,
               dataset_version AS vintage,
               date_diff('day', coalesce(frozen, publisher_update, retrieved_at), $as_of)
                   AS age_days,
               cadence_days, frozen_since, stale,
               CASE WHEN NOT stale THEN NULL
                    WHEN frozen_since IS NOT NULL
                    THEN printf('frozen by its publisher since %s', frozen_since)
                    WHEN stale_update IS NOT NULL
                    THEN printf('older than its %d-day cadence: last updated by its publisher '
                                || 'on %s, %d days ago', cadence_days,
                                strftime(stale_update, '%Y-%m-%d'),
                                date_diff('day', stale_update, $as_of))
                    ELSE printf('older than its %d-day cadence: its files date from %s, %d '
                                || 'days ago', cadence_days, strftime(retrieved_at, '%Y-%m-%d'),
                                date_diff('day', retrieved_at, $as_of))
               END AS stale_reason
        FROM dated ORDER BY source_id
        """,  # fixed SQL text
        {"as_of": as_of, "formats": _DATE_FORMATS, "frozen_formats": _FROZEN_FORMATS},
    )


@dataclass(frozen=True)
class Report:
    """What a refresh publishes beside its version: rejected rows of its loads by source and
    check, the flags by source and check, and each source's freshness."""

    rejected: pd.DataFrame
    flags: pd.DataFrame
    freshness: pd.DataFrame


def report(con: Connection, load_ids: list[int], as_of: datetime) -> Report:
    return Report(rejected_by_check(con, load_ids), flags_by_check(con), freshness(con, as_of))


def markdown(report: Report) -> str:
    """The report as Markdown, for the refresh's Prefect artifact."""
    def table(frame: pd.DataFrame) -> list[str]:
        if frame.empty:
            return ["None.", ""]
        shown = frame.map(lambda cell: str(cell).replace("|", "\\|"))
        return ["| " + " | ".join(frame.columns) + " |",
                "|" + "---|" * len(frame.columns),
                *("| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)), ""]

    return "\n".join([
        "# Data quality", "",
        "## Rejected rows, by source and check", "", *table(report.rejected),
        "## Flagged values (loaded, worth a look)", "", *table(report.flags),
        "## Freshness", "", *table(report.freshness),
    ])
