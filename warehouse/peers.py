"""What the peer groups (indicators/peers) read from the warehouse: each city's context (where
it is, how big, how connected) and the ties a city shares with others (city networks, twinning).

The rules themselves are pure and live in indicators/peers; this module only reads.
"""

from __future__ import annotations

import tomllib

from warehouse.columns import Columns, columns, rows
from warehouse.connect import Connection
from warehouse.runs import LATEST_RUN

# The profile's connectivity measures, stored as observations by the network measures.
PROFILE_INDICATORS = ("air_destinations", "air_routes", "twin_partners")


def context(con: Connection, year: int, growth_years: int) -> Columns:
    """One row per city, by city_id (the first column): name, country (ISO2), country_name,
    continent, population (GeoNames, latest), agglomeration_population and
    agglomeration_year (UN WUP, the latest year up to `year`),
    agglomeration_population_earlier (`growth_years` before that year, missing when UN WUP
    has no such year), income_group (World Bank country income group
    1-4, missing when no source gave one) and the latest value of each PROFILE_INDICATORS."""
    return columns(con, """
        WITH agglomeration AS (
            SELECT city_id, max(period) AS agglomeration_year FROM observation
            WHERE indicator_id = 'agglomeration_population' AND period <= $year
            GROUP BY city_id
        ),
        agglomeration_values AS (
            SELECT a.city_id, a.agglomeration_year,
                   max(o.value) FILTER (WHERE o.period = a.agglomeration_year)
                       AS agglomeration_population,
                   max(o.value) FILTER (WHERE o.period = a.agglomeration_year - $growth_years)
                       AS agglomeration_population_earlier
            FROM agglomeration a
            JOIN observation o ON o.city_id = a.city_id
                AND o.indicator_id = 'agglomeration_population'
            GROUP BY ALL
        ),
        income AS (
            SELECT city_id, arg_max(value, period) AS income_group FROM observation
            WHERE indicator_id = 'country_income_group' AND period <= $year
            GROUP BY city_id
        ),
        measures AS (  -- one row per city (its latest value of each): joined one to one
            SELECT city_id, """ + ",\n                   ".join(
            f"arg_max(value, period) FILTER (WHERE indicator_id = '{indicator}') AS {indicator}"
            for indicator in PROFILE_INDICATORS) + """
            FROM observation
            WHERE list_contains($indicators, indicator_id)
            GROUP BY city_id
        )
        SELECT c.city_id, c.name, c.country_iso2 AS country, k.name AS country_name,
               k.continent, c.population::DOUBLE AS population,
               a.agglomeration_population, a.agglomeration_year,
               a.agglomeration_population_earlier, i.income_group,
               """ + ", ".join(f"m.{indicator}" for indicator in PROFILE_INDICATORS) + """
        FROM city c
        LEFT JOIN country k ON k.iso2 = c.country_iso2
        LEFT JOIN agglomeration_values a USING (city_id)
        LEFT JOIN income i USING (city_id)
        LEFT JOIN measures m USING (city_id)
        ORDER BY c.city_id
        """, {"year": year, "growth_years": growth_years, "indicators": list(PROFILE_INDICATORS)})


def shared_ties(con: Connection, city_id: str) -> list[dict]:
    """Every city that shares a tie with this one, one row each: peer_id, kind ('city-network' or
    'twinning'), via (the network's name, or 'twin towns'), network_id (missing for twinning)
    and period (the latest in which the tie is recorded). A city network is shared when both
    cities are members of it in any period."""
    return rows(con, """
        SELECT CASE WHEN city_a = $city THEN city_b ELSE city_a END AS peer_id,
               'twinning' AS kind, 'twin towns' AS via, NULL::VARCHAR AS network_id,
               max(period) AS period
        FROM city_link
        WHERE kind = 'twinning' AND (city_a = $city OR city_b = $city)
        GROUP BY ALL
        UNION ALL
        SELECT other.city_id AS peer_id, 'city-network' AS kind, n.name AS via,
               n.network_id, max(other.period) AS period
        FROM membership mine
        JOIN network n ON n.network_id = mine.network_id AND n.kind = 'city-network'
        JOIN membership other ON other.network_id = mine.network_id
            AND other.city_id <> mine.city_id
        WHERE mine.city_id = $city
        GROUP BY ALL
        ORDER BY peer_id, kind, via
        """, {"city": city_id})


# --- the report card's reads (indicators.peers.report) ---------------------------------------


def run_scores(con: Connection, framework: str, city_ids: list[str]) -> Columns:
    """The current score run of `framework` (its latest, as read_model) for these cities, a
    row per city and node, score_run_id, city_id, node_id, node_kind, value, normalised, rank,
    percentile, rank_low, rank_high (rank, percentile and the rank interval among all the
    cities the run scored). Cities the run did not score have no rows."""
    return columns(con, f"""
        WITH {LATEST_RUN}
        SELECT s.score_run_id, s.city_id, s.node_id, s.node_kind, s.value, s.normalised,
               s.rank, s.percentile, s.rank_low, s.rank_high
        FROM score s JOIN run USING (score_run_id)
        WHERE list_contains($cities, s.city_id)
        ORDER BY s.city_id, s.node_id
        """, {"framework": framework, "cities": list(city_ids)})


def run_framework(con: Connection, framework: str) -> dict | None:
    """The framework file of `framework`'s current run (stored verbatim with the run), parsed;
    None when the framework has no run."""
    row = con.execute(
        f"WITH {LATEST_RUN} SELECT framework FROM score_run JOIN run USING (score_run_id)",
        {"framework": framework},
    ).fetchone()
    return None if row is None else tomllib.loads(row[0])


def framework_ids(con: Connection) -> list[str]:
    """Every framework with a score run."""
    return [row[0] for row in con.execute(
        "SELECT DISTINCT framework_id FROM score_run ORDER BY framework_id").fetchall()]


def frameworks_scoring(con: Connection, city_id: str) -> list[str]:
    """The frameworks whose current run gives the city an index score."""
    return [row[0] for row in con.execute("""
        WITH current AS (
            SELECT score_run_id, framework_id FROM score_run
            QUALIFY row_number() OVER (PARTITION BY framework_id
                                       ORDER BY created_at DESC, score_run_id DESC) = 1
        )
        SELECT DISTINCT c.framework_id FROM current c JOIN score s USING (score_run_id)
        WHERE s.city_id = $city AND s.node_kind = 'index' AND s.value IS NOT NULL
        ORDER BY c.framework_id
    """, {"city": city_id}).fetchall()]


def run_periods(con: Connection, framework: str) -> dict[str, int]:
    """The periods the current run of `framework` fixed (its framework file's
    `[refresh].period`): indicator -> year. Every other stored indicator was scored on its
    latest period."""
    spec = run_framework(con, framework) or {}
    period = spec.get("refresh", {}).get("period", {})
    return {indicator: int(year) for indicator, year in period.items()}


def previous_observations(con: Connection, city_id: str, indicator_ids: list[str],
                          periods: dict[str, int] | None = None) -> list[dict]:
    """A row for each of these indicators the city has observations of: indicator_id, period (the
    one scored: `periods`' year when given, else the latest, as the scoring reads), value
    (the observation of that period, the highest should two sources give one; missing when
    the city has none in a fixed period), previous_period (the latest period before it) and
    previous_value (missing when there is no earlier period)."""
    periods = periods or {}
    return rows(con, """
        WITH fixed AS (
            SELECT unnest($fixed_ids::VARCHAR[]) AS indicator_id,
                   unnest($fixed_periods::INTEGER[]) AS period
        ),
        obs AS (
            SELECT indicator_id, period, max(value) AS value FROM observation
            WHERE city_id = $city AND list_contains($indicators, indicator_id)
            GROUP BY ALL
        ),
        used AS (
            SELECT o.indicator_id, coalesce(any_value(f.period), max(o.period)) AS period
            FROM obs o LEFT JOIN fixed f USING (indicator_id)
            GROUP BY o.indicator_id
        ),
        earlier AS (
            SELECT u.indicator_id, max(o.period) AS previous_period
            FROM used u JOIN obs o ON o.indicator_id = u.indicator_id AND o.period < u.period
            GROUP BY u.indicator_id
        )
        SELECT u.indicator_id, u.period, cur.value, e.previous_period,
               before.value AS previous_value
        FROM used u
        LEFT JOIN obs cur ON cur.indicator_id = u.indicator_id AND cur.period = u.period
        LEFT JOIN earlier e ON e.indicator_id = u.indicator_id
        LEFT JOIN obs before ON before.indicator_id = u.indicator_id
            AND before.period = e.previous_period
        ORDER BY u.indicator_id
        """, {"city": city_id, "indicators": list(indicator_ids), "fixed_ids": list(periods),
         "fixed_periods": [int(p) for p in periods.values()]})
