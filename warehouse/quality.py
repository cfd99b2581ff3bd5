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

import pandas as pd

from warehouse.config import QualitySettings
from warehouse.connect import Connection

# How publishers state a last update: HTTP Last-Modified, ISO 8601 with or without time.
_DATE_FORMATS = ["%a, %d %b %Y %H:%M:%S GMT", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]

# How publishers.toml states frozen_since: a year, a month or a day.
_FROZEN_FORMATS = ["%Y-%m-%d", "%Y-%m", "%Y"]


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

_STALE = """
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
    SELECT d.*, s.cadence_days,
           coalesce(try_cast(d.last_update AS TIMESTAMPTZ),
                    try_strptime(d.last_update, $formats)::TIMESTAMPTZ) AS updated
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


def freshness(con: Connection, as_of: datetime) -> pd.DataFrame:
    """Per source: when its data was fetched, how old that is, its cadence (or since when its
    publisher no longer updates it), whether stale."""
    return con.execute(
        """
        SELECT s.source_id, s.retrieved_at, date_diff('day', s.retrieved_at, $as_of) AS age_days,
               s.cadence_days, s.frozen_since,
               EXISTS (SELECT 1 FROM quality_flag f
                       WHERE f.source_id = s.source_id AND f.check_name = 'stale') AS stale
        FROM source s ORDER BY s.source_id
        """,
        {"as_of": as_of},
    ).df()


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
