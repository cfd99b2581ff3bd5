"""The reads of the Explorer and Networks pages: any indicator the warehouse holds, by city and
period, and the links and memberships between cities, as pandas frames.

Charts of single cities get at most `cities` rows (the most populous cities that have the
value, and always the chosen city): Altair refuses more than 5,000 rows per chart and a browser
would not draw them fast. Summaries (quantiles, counts) are computed here over every city.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse import measures
from warehouse.connect import reading
from warehouse.read_model import CONTINENTS

# An observation flag with this letter is a projection (UN WUP's 2020-2035, Eurostat's "f").
PROJECTION_FLAG = "f"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _frame(db: Path, sql: str, params: dict | None = None) -> pd.DataFrame:
    with reading(db) as con:
        return con.execute(sql, params or {}).df()


def _continent_names(frame: pd.DataFrame, column: str = "continent") -> pd.DataFrame:
    frame[f"{column}_name"] = frame[column].map(CONTINENTS).fillna(frame[column])
    return frame


def _values_of(parameter: str) -> str:
    """The rows of the indicator named by the query parameter `parameter` (a fixed name, never
    user text), from the indicator's own source: an indicator is defined by one source."""
    return f"""
        SELECT o.city_id, o.period, o.value,
               coalesce(contains(o.flag, $projection), false) AS projected
        FROM observation o JOIN indicator i USING (indicator_id)
        WHERE o.indicator_id = ${parameter} AND o.source_id = i.source_id
    """


_VALUES = _values_of("indicator")


def indicators(db: Path) -> pd.DataFrame:
    """Every indicator that has values: name, unit, source, description, the periods it has
    (rising), those that are projections, and how many cities it covers in its latest period."""
    return _frame(db, """
        WITH per AS (
            SELECT o.indicator_id, o.period, count(*) AS cities,
                   bool_or(coalesce(contains(o.flag, $projection), false)) AS projected
            FROM observation o JOIN indicator i USING (indicator_id)
            WHERE o.source_id = i.source_id
            GROUP BY ALL
        )
        SELECT i.indicator_id, i.name, i.unit, i.source_id, i.description,
               list(p.period ORDER BY p.period) AS periods,
               coalesce(list(p.period ORDER BY p.period) FILTER (WHERE p.projected), [])
                   AS projections,
               arg_max(p.cities, p.period) AS cities
        FROM indicator i JOIN per p USING (indicator_id)
        GROUP BY ALL
        ORDER BY i.name, i.indicator_id
    """, {"projection": PROJECTION_FLAG})


def summary(db: Path, indicator_id: str, period: int) -> pd.DataFrame:
    """How every city's value spreads, for all cities (continent None) and by continent:
    cities, min, 5th, 25th, 50th, 75th, 95th percentile (p05 ... p95) and max."""
    frame = _frame(db, f"""
        WITH v AS ({_VALUES} AND o.period = $period),
        placed AS (
            SELECT v.value, co.continent FROM v
            JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        )
        SELECT continent, count(*) AS cities, min(value) AS min,
               quantile_cont(value, $quantiles) AS q, max(value) AS max
        FROM placed GROUP BY GROUPING SETS ((), (continent))
        ORDER BY continent NULLS FIRST
    """, {"indicator": indicator_id, "period": period, "projection": PROJECTION_FLAG,
          "quantiles": list(QUANTILES)})
    for n, name in enumerate(("p05", "p25", "median", "p75", "p95")):
        frame[name] = frame["q"].map(lambda q, n=n: q[n])
    return _continent_names(frame.drop(columns="q"))


def values(db: Path, indicator_id: str, period: int, cities: int = 4000, city_id: str = "",
           sample: bool = False) -> pd.DataFrame:
    """Each city's value in the period, with its place: the `cities` most populous that have
    it, or with `sample` as many drawn at random (the same draw every time: by a hash of the
    id), and `city_id` whatever its size."""
    frame = _frame(db, f"""
        WITH v AS ({_VALUES} AND o.period = $period)
        SELECT v.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.latitude, c.longitude, c.population, v.value, v.projected
        FROM v JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        ORDER BY (v.city_id = $city) DESC,
                 CASE WHEN $sample THEN hash(v.city_id)::DOUBLE
                      ELSE -coalesce(c.population, -1) END,
                 v.city_id
        LIMIT $cities
    """, {"indicator": indicator_id, "period": period, "projection": PROJECTION_FLAG,
          "cities": cities, "city": city_id, "sample": sample})
    return _continent_names(frame)


def pair(db: Path, x_id: str, x_period: int, y_id: str, y_period: int, cities: int = 4000,
         city_id: str = "") -> tuple[pd.DataFrame, int]:
    """Cities that have both values (x and y): the `cities` most populous (and `city_id`),
    and how many cities have both."""
    sql = f"""
        WITH x AS (SELECT * FROM ({_values_of("x")}) WHERE period = $xp),
        y AS (SELECT * FROM ({_values_of("y")}) WHERE period = $yp),
        both_ AS (
            SELECT x.city_id, x.value AS x, y.value AS y FROM x JOIN y USING (city_id)
        )
        SELECT b.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.population, b.x, b.y, count(*) OVER () AS total
        FROM both_ b JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        ORDER BY (b.city_id = $city) DESC, c.population DESC NULLS LAST, b.city_id
        LIMIT $cities
    """
    frame = _frame(db, sql, {"x": x_id, "xp": x_period, "y": y_id, "yp": y_period,
                             "projection": PROJECTION_FLAG, "cities": cities,
                             "city": city_id})
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return _continent_names(frame.drop(columns="total")), total


def series(db: Path, indicator_id: str, city_id: str) -> pd.DataFrame:
    """The city's value in every period the indicator has for it, and which are projections."""
    return _frame(db, f"""
        SELECT period, value, projected FROM ({_VALUES}) WHERE city_id = $city ORDER BY period
    """, {"indicator": indicator_id, "city": city_id, "projection": PROJECTION_FLAG})


# --- networks ----------------------------------------------------------------------------------


def network_measure_list(db: Path) -> pd.DataFrame:
    """The stored network measures (flows/network_measures.py), one row per measure and
    dataset (each firm matrix is its own), with the latest period and how many cities."""
    return _frame(db, """
        SELECT o.indicator_id, o.dataset_id, i.name, i.unit, d.title AS dataset,
               max(o.period) AS period, count(DISTINCT o.city_id) AS cities
        FROM observation o JOIN indicator i USING (indicator_id)
        JOIN dataset d ON d.source_id = o.source_id AND d.dataset_id = o.dataset_id
        WHERE o.source_id = $source AND o.indicator_id <> 'firm_tier'
        GROUP BY ALL ORDER BY o.dataset_id, o.indicator_id
    """, {"source": measures.SOURCE_ID})


def network_ranking(db: Path, indicator_id: str, dataset_id: str) -> pd.DataFrame:
    """Every city measured, by value (rank 1 = highest, ties share a rank), in the latest
    period, with the stored firm tier code where the matrix has one."""
    frame = _frame(db, """
        WITH latest AS (
            SELECT max(period) AS period FROM observation
            WHERE source_id = $source AND indicator_id = $indicator AND dataset_id = $dataset
        ),
        m AS (
            SELECT o.city_id, o.value, o.period FROM observation o JOIN latest USING (period)
            WHERE o.source_id = $source AND o.indicator_id = $indicator
              AND o.dataset_id = $dataset
        )
        SELECT rank() OVER (ORDER BY m.value DESC) AS rank, m.city_id, c.name,
               c.country_iso2, co.name AS country, co.continent, m.value, m.period,
               t.value AS tier_code
        FROM m JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        LEFT JOIN observation t ON t.source_id = $source AND t.indicator_id = 'firm_tier'
            AND t.dataset_id = $dataset AND t.city_id = m.city_id AND t.period = m.period
        ORDER BY rank, c.name, m.city_id
    """, {"source": measures.SOURCE_ID, "indicator": indicator_id, "dataset": dataset_id})
    return _continent_names(frame)


def link_kinds(db: Path) -> pd.DataFrame:
    """Each kind of link held, with its pairs and distinct weights."""
    return _frame(db, """
        WITH pairs AS (SELECT kind, city_a, city_b, max(weight) AS weight FROM city_link
                       GROUP BY ALL)
        SELECT kind, count(*) AS pairs, count(DISTINCT weight) AS weights
        FROM pairs GROUP BY kind ORDER BY kind
    """)


_PLACE = """c{n}.name AS name_{n}, c{n}.country_iso2 AS country_{n},
            co{n}.continent AS continent_{n}, c{n}.latitude AS latitude_{n},
            c{n}.longitude AS longitude_{n}"""


def dyads(db: Path, kind: str, top: int = 25) -> pd.DataFrame:
    """The strongest pairs of one kind of link: each pair once with the strongest weight any
    source gives it (as the network measures count it); ties by the pair's population."""
    frame = _frame(db, f"""
        WITH pairs AS (
            SELECT city_a, city_b, max(weight) AS weight, max(period) AS period
            FROM city_link WHERE kind = $kind GROUP BY ALL
        )
        SELECT p.city_a, {_PLACE.format(n='a')}, p.city_b, {_PLACE.format(n='b')},
               p.weight, p.period
        FROM pairs p
        JOIN city ca ON ca.city_id = p.city_a JOIN country coa ON coa.iso2 = ca.country_iso2
        JOIN city cb ON cb.city_id = p.city_b JOIN country cob ON cob.iso2 = cb.country_iso2
        ORDER BY p.weight DESC, coalesce(ca.population, 0) + coalesce(cb.population, 0) DESC,
                 p.city_a, p.city_b
        LIMIT $top
    """, {"kind": kind, "top": top})
    return frame


def city_links(db: Path, city_id: str) -> pd.DataFrame:
    """The city's partners by each kind of link, one row per kind and partner (the strongest
    weight any source gives the pair), with the partner's place."""
    frame = _frame(db, """
        WITH mine AS (
            SELECT kind, CASE WHEN city_a = $city THEN city_b ELSE city_a END AS city_id,
                   max(weight) AS weight, max(period) AS period
            FROM city_link WHERE city_a = $city OR city_b = $city
            GROUP BY ALL
        )
        SELECT m.kind, m.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.latitude, c.longitude, m.weight, m.period
        FROM mine m JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        ORDER BY m.kind, m.weight DESC, c.name, m.city_id
    """, {"city": city_id})
    return _continent_names(frame)


def city_networks(db: Path) -> pd.DataFrame:
    """Each city network, once by name whatever source or edition lists it: its members,
    countries and continents, and the years of the lists."""
    return _frame(db, """
        SELECT n.name AS network, count(DISTINCT m.city_id) AS cities,
               count(DISTINCT c.country_iso2) AS countries,
               count(DISTINCT co.continent) AS continents,
               string_agg(DISTINCT m.period::VARCHAR, ', ' ORDER BY m.period::VARCHAR)
                   AS listed
        FROM membership m JOIN network n USING (network_id)
        JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        WHERE n.kind = 'city-network'
        GROUP BY n.name ORDER BY cities DESC, network
    """)


def network_members(db: Path, network: str) -> pd.DataFrame:
    """The member cities of a city network (by its name), with their place."""
    frame = _frame(db, """
        SELECT DISTINCT m.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.latitude, c.longitude
        FROM membership m JOIN network n USING (network_id)
        JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        WHERE n.kind = 'city-network' AND n.name = $network
        ORDER BY co.continent, co.name, c.name
    """, {"network": network})
    return _continent_names(frame)
