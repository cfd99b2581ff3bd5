"""The read model: every read the front end and `citybench status` make of the published
warehouse, as pandas frames.

Each function opens a short-lived read-only connection, runs parameterised SQL and closes it.
A refresh publishes by `os.replace`-ing the file; a connection kept open would keep serving the
replaced version. No Streamlit here: the app caches these per published version (app/reads.py)
and the report exporter can reuse them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from warehouse import measures, practices, quality, status
from warehouse.connect import Connection, reading
from warehouse.runs import LATEST_RUN

CONTINENTS = {
    "AF": "Africa",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
    "AN": "Antarctica",
}


def _frame(db: Path, sql: str, params: dict | None = None) -> pd.DataFrame:
    with reading(db) as con:
        return con.execute(sql, params or {}).df()


def index_label(framework_id: str) -> str:
    return framework_id.replace("_", " ").capitalize() + " index"


def _framework_nodes(db: Path, framework_id: str) -> dict[str, dict]:
    """Each dimension and indicator of the current run's framework (the file stored verbatim
    with the run, parsed as TOML): its name, and its unit where the file states one."""
    with reading(db) as con:
        row = con.execute(f"""
            WITH {LATEST_RUN}
            SELECT framework FROM score_run JOIN run USING (score_run_id)
        """, {"framework": framework_id}).fetchone()
    if row is None:
        return {}
    spec = tomllib.loads(row[0])
    dimensions = {node["id"]: {"name": f"{node.get('name', node['id'])} (dimension)"}
                  for node in spec.get("aggregate", [])}
    indicators = {node["id"]: node for node in spec.get("indicator", [])}
    return dimensions | indicators


def _with_labels(frame: pd.DataFrame, db: Path, framework_id: str) -> pd.DataFrame:
    """Name each score node: indicators by their catalogue name, dimensions and the indicators
    a framework derives (a growth rate) by the framework's names, the composite after the
    framework. A unit missing from the catalogue comes from the framework."""
    frame = frame.copy()
    nodes = _framework_nodes(db, framework_id)
    named = frame["node_id"].map(lambda node: nodes.get(node, {}).get("name"))
    is_index = frame["node_kind"] == "index"
    frame["label"] = frame["indicator_name"].where(~is_index, index_label(framework_id))
    frame["label"] = frame["label"].fillna(named).fillna(frame["node_id"])
    if "unit" in frame:
        stated = frame["node_id"].map(lambda node: nodes.get(node, {}).get("unit"))
        frame["unit"] = frame["unit"].fillna(stated)
    return frame.drop(columns="indicator_name")


# --- freshness and sources -------------------------------------------------------------------


def publication(db: Path) -> pd.DataFrame:
    """The published version (one row, none before the first publication)."""
    return _frame(db, """
        SELECT version, published_at, summary FROM publication ORDER BY version DESC LIMIT 1
    """)


def sources(db: Path) -> pd.DataFrame:
    """Each source with its latest load attempt, its latest successful refresh and the rows it
    holds now (as `citybench status` counts them: warehouse/status.py HELD), which a failed
    load leaves as they were."""
    return _frame(db, f"""
        WITH ranked AS (
            SELECT *, row_number() OVER (
                PARTITION BY source_id ORDER BY started_at DESC, load_id DESC) AS recency
            FROM "load"
        ),
        success AS (
            SELECT source_id, max(finished_at) AS last_success_at
            FROM "load" WHERE status = 'success' GROUP BY source_id
        ),
        held AS ({status.HELD})
        SELECT ids.source_id, coalesce(s.publisher, ids.source_id) AS publisher,
               coalesce(s.dataset, 'never loaded') AS dataset, s.url, s.licence, s.attribution,
               s.dataset_version, s.retrieved_at, s.snapshot, s.cadence_days, s.frozen_since,
               ok.last_success_at, coalesce(h.rows_held, 0) AS rows_held,
               l.started_at AS last_attempt_at, l.status AS last_status, l.error AS last_error,
               l.rows_read, l.rows_loaded, l.rows_changed, l.rows_rejected,
               l.records_unresolved, l.records_to_resolve
        -- a source whose first load failed has no `source` row yet, only its failed load
        FROM (SELECT source_id FROM source UNION SELECT source_id FROM "load") ids
        LEFT JOIN source s USING (source_id)
        LEFT JOIN ranked l ON l.source_id = ids.source_id AND l.recency = 1
        LEFT JOIN success ok ON ok.source_id = ids.source_id
        LEFT JOIN held h ON h.source_id = ids.source_id
        ORDER BY publisher, dataset
    """)  # status.HELD: fixed SQL text


def datasets(db: Path) -> pd.DataFrame:
    """Every dataset held: where it came from, the publisher's last update, when it was fetched,
    and the rows it gave."""
    return _frame(db, f"""
        WITH facts AS ({status.FACTS})
        SELECT d.source_id, d.dataset_id, d.title, d.url, d.last_update, d.retrieved_at,
               count(f.dataset_id) AS rows_held
        FROM dataset d LEFT JOIN facts f USING (source_id, dataset_id)
        GROUP BY ALL
        ORDER BY d.source_id, d.dataset_id
    """)


def loads(db: Path) -> pd.DataFrame:
    """Every load of every source, newest first; `rows_loaded` (the source's rows held after
    the load) only for a load that succeeded."""
    return _frame(db, """
        SELECT l.load_id, l.source_id, s.publisher, l.started_at, l.finished_at, l.status,
               l.rows_read,
               -- a failed load loads nothing: the rows held before it stay (sources())
               CASE WHEN l.status = 'success' THEN l.rows_loaded END AS rows_loaded,
               l.rows_changed, l.rows_rejected,
               l.records_unresolved, l.records_to_resolve, l.error
        FROM "load" l LEFT JOIN source s USING (source_id)
        ORDER BY l.started_at DESC, l.load_id DESC
    """)


def attributions(db: Path, framework: str | None = None) -> list[str]:
    """Attribution texts: of the sources behind a framework's current run, or of all sources."""
    if framework is None:
        frame = _frame(db, "SELECT DISTINCT attribution FROM source ORDER BY attribution")
    else:
        frame = _frame(db, f"""
            WITH {LATEST_RUN},
            used AS (
                SELECT DISTINCT s.node_id FROM score s JOIN run USING (score_run_id)
                WHERE s.node_kind = 'indicator'
            )
            SELECT DISTINCT src.attribution
            FROM used JOIN indicator i ON i.indicator_id = used.node_id
            JOIN source src ON src.source_id = i.source_id
            ORDER BY src.attribution
        """, {"framework": framework})
    return frame["attribution"].tolist()


# --- data quality ----------------------------------------------------------------------------


def _has_quality_flags(con: Connection) -> bool:
    """Versions published before the quality checks existed have no flags table."""
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'quality_flag'"
    ).fetchone()[0] > 0


def quality_summary(db: Path) -> dict[str, pd.DataFrame] | None:
    """Rejected rows of each source's latest load; flags by source and check, and by priority
    (warehouse/quality.py PRIORITIES), check, source and indicator; freshness. None for a
    version published before the quality checks existed."""
    with reading(db) as con:
        if not _has_quality_flags(con):
            return None
        return {
            "rejected": quality.rejected_by_check(con),
            "flags": quality.flags_by_check(con),
            "priorities": quality.flags_by_priority(con),
            "freshness": quality.freshness(con, pd.Timestamp.now(tz="UTC").to_pydatetime()),
        }


def rejected_rows(db: Path, source_id: str) -> pd.DataFrame:
    """Every row a source's latest load rejected, with the check and the reason."""
    return _frame(db, """
        SELECT row_number, column_name, check_name, value, reason FROM rejected
        WHERE load_id = (SELECT max(load_id) FROM "load" WHERE source_id = $source)
        ORDER BY row_number NULLS LAST, check_name
    """, {"source": source_id})


def flagged_values(db: Path, priority: str | None = None, source_id: str | None = None,
                   check: str | None = None, indicator_id: str | None = None,
                   city: str | None = None) -> pd.DataFrame:
    """Every flagged value the filters let through, with its priority, city and indicator;
    the highest priority and the largest anomaly first (warehouse/quality.py)."""
    with reading(db) as con:
        return quality.prioritised_flags(con, priority, source_id, check, indicator_id, city)


# --- scores ----------------------------------------------------------------------------------


def frameworks(db: Path) -> pd.DataFrame:
    """The current (latest) score run of each framework."""
    return _frame(db, """
        SELECT framework_id, score_run_id, created_at, cities FROM score_run
        QUALIFY row_number() OVER (
            PARTITION BY framework_id ORDER BY created_at DESC, score_run_id DESC) = 1
        ORDER BY framework_id
    """)


def methodology(db: Path, framework: str) -> dict[str, str | None]:
    """The current run's methodology text and notes (what entered, what was left out and why);
    None each for a run recorded before runs kept them, or a framework never scored."""
    with reading(db) as con:
        kept = {row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'score_run'"
        ).fetchall()}
        if not {"methodology", "notes"} <= kept:
            return {"methodology": None, "notes": None}
        row = con.execute(f"""
            WITH {LATEST_RUN}
            SELECT methodology, notes FROM score_run JOIN run USING (score_run_id)
        """, {"framework": framework}).fetchone()
    return {"methodology": row[0] if row else None, "notes": row[1] if row else None}


def rankings(db: Path, framework: str, continent: str | None = None,
             country: str | None = None, top: int = 25) -> pd.DataFrame:
    """The top cities by the framework's index, optionally within a continent or country.

    `matching` is the number of scored cities the filters let through, before the top-N cut.
    """
    frame = _frame(db, f"""
        WITH {LATEST_RUN},
        agglomeration AS (  -- the latest figure up to this year, as populations() takes it
            SELECT city_id, arg_max(value, period) AS agglomeration_population
            FROM observation
            WHERE indicator_id = 'agglomeration_population' AND period <= year(current_date)
            GROUP BY city_id
        )
        SELECT s.rank, c.city_id, c.name, co.name AS country, c.country_iso2, co.continent,
               s.value AS score, s.percentile, s.rank_country, s.rank_continent, c.population,
               a.agglomeration_population,
               CASE WHEN s.rank_low IS NOT NULL
                    THEN s.rank_low::VARCHAR || ' to ' || s.rank_high::VARCHAR END AS rank_range,
               count(*) OVER () AS matching
        FROM score s JOIN run USING (score_run_id)
        JOIN city c USING (city_id)
        JOIN country co ON co.iso2 = c.country_iso2
        LEFT JOIN agglomeration a USING (city_id)
        WHERE s.node_kind = 'index' AND s.node_id = $framework
          AND ($continent IS NULL OR co.continent = $continent)
          AND ($country IS NULL OR c.country_iso2 = $country)
        ORDER BY s.rank NULLS LAST, s.value DESC, c.name, c.city_id
        LIMIT $top
    """, {"framework": framework, "continent": continent, "country": country, "top": top})
    frame["continent_name"] = frame["continent"].map(CONTINENTS).fillna(frame["continent"])
    return frame


# --- cities ----------------------------------------------------------------------------------


def _city_labels(frame: pd.DataFrame) -> pd.DataFrame:
    population = frame["population"].map(lambda p: "" if pd.isna(p) else f" · {int(p):,} people")
    frame["label"] = frame["name"] + ", " + frame["country"] + population
    return frame


def search_cities(db: Path, text: str = "", limit: int = 50) -> pd.DataFrame:
    """Cities whose name contains `text`, ignoring case and accents; prefix matches first.

    An empty text lists the most populous cities, so the picker is never empty.
    """
    frame = _frame(db, """
        WITH q AS (SELECT strip_accents(lower(trim($text))) AS needle),
        names AS (
            SELECT c.*, co.name AS country,
                   strip_accents(lower(c.name)) AS folded, lower(c.ascii_name) AS ascii
            FROM city c JOIN country co ON co.iso2 = c.country_iso2
        )
        SELECT city_id, name, country, country_iso2, population
        FROM names, q
        WHERE contains(folded, needle) OR contains(ascii, needle)
        ORDER BY (starts_with(folded, needle) OR starts_with(ascii, needle)) DESC,
                 population DESC NULLS LAST, name, city_id
        LIMIT $limit
    """, {"text": text, "limit": limit})
    return _city_labels(frame)


def city(db: Path, city_id: str) -> pd.DataFrame:
    """One city with its country and continent (no row if the id is unknown)."""
    frame = _frame(db, """
        SELECT c.city_id, c.name, c.country_iso2, co.name AS country, co.continent,
               c.population, c.is_capital, c.latitude, c.longitude
        FROM city c JOIN country co ON co.iso2 = c.country_iso2
        WHERE c.city_id = $city
    """, {"city": city_id})
    frame["continent_name"] = frame["continent"].map(CONTINENTS).fillna(frame["continent"])
    return _city_labels(frame)


# Every population figure a source gives a city, and the definition it counts: they differ
# by millions (Tokyo: 9.7 M in the 23 wards as GeoNames lists it, 37 M in the UN's urban
# agglomeration), so none is shown without its definition.
POPULATIONS = {
    "population": "GeoNames: the place as GeoNames lists it",
    "agglomeration_population": "UN WUP 2018: urban agglomeration",
    "eurostat_de1001v": "Eurostat: city (municipalities, LAU)",
    "fua_population": "OECD: functional urban area",
    "wikidata_population": "Wikidata: as stated there",
}


def populations(db: Path, city_id: str) -> pd.DataFrame:
    """The city's latest population figure of each definition held (a projection only where
    no later estimate is; never beyond this year), in the order of POPULATIONS."""
    frame = _frame(db, """
        SELECT indicator_id, arg_max(value, period) AS value, max(period) AS period,
               arg_max(coalesce(contains(flag, 'f'), false), period) AS projected
        FROM observation
        WHERE city_id = $city AND list_contains($ids, indicator_id)
          AND period <= year(current_date)
        GROUP BY indicator_id
    """, {"city": city_id, "ids": list(POPULATIONS)})
    frame["definition"] = frame["indicator_id"].map(POPULATIONS)
    order = {indicator: n for n, indicator in enumerate(POPULATIONS)}
    return frame.sort_values("indicator_id", key=lambda ids: ids.map(order)).reset_index(
        drop=True)


def profile(db: Path, framework: str, city_id: str) -> pd.DataFrame:
    """The city's index and indicators in the current run, with the size of each peer group.

    Peer groups count the cities ranked on the same node: all, same country, same continent.
    """
    frame = _frame(db, f"""
        WITH {LATEST_RUN},
        scored AS (
            SELECT s.*, c.country_iso2, co.continent
            FROM score s JOIN run USING (score_run_id)
            JOIN city c USING (city_id)
            JOIN country co ON co.iso2 = c.country_iso2
        ),
        me AS (SELECT * FROM scored WHERE city_id = $city),
        peers AS (
            SELECT p.node_id,
                   count(p.rank) AS peers,
                   count(p.rank_country)
                       FILTER (WHERE p.country_iso2 = me.country_iso2) AS peers_country,
                   count(p.rank_continent)
                       FILTER (WHERE p.continent = me.continent) AS peers_continent
            FROM scored p JOIN me USING (node_id)
            GROUP BY p.node_id
        )
        SELECT me.node_id, me.node_kind, i.name AS indicator_name, i.unit, i.direction,
               i.source_id, me.value, me.normalised,
               me.rank, me.percentile, peers.peers, me.rank_low, me.rank_high,
               me.rank_country, me.percentile_country, peers.peers_country,
               me.rank_continent, me.percentile_continent, peers.peers_continent
        FROM me JOIN peers USING (node_id)
        LEFT JOIN indicator i ON i.indicator_id = me.node_id
    """, {"framework": framework, "city": city_id})
    frame = _with_labels(frame, db, framework)
    # the index, then its dimensions, then the indicators, each by name
    kind_order = frame["node_kind"].map({"index": 0, "dimension": 1}).fillna(2)
    return (frame.assign(kind_order=kind_order).sort_values(["kind_order", "label"])
            .drop(columns="kind_order").reset_index(drop=True))


# --- networks: firms, city networks, air routes, twinning ------------------------------------


def network_measures(db: Path, city_id: str) -> pd.DataFrame:
    """The city's stored network measures (the refresh computes them: flows/network_measures.py),
    each with its indicator's name, unit and description, the dataset it belongs to, and its
    rank among the cities measured in the same dataset and period (1 = highest; a firm
    matrix's cities are ranked among themselves)."""
    return _frame(db, """
        WITH mine AS (
            SELECT indicator_id, dataset_id, period FROM observation
            WHERE source_id = $source AND city_id = $city
        ),
        ranked AS (
            SELECT o.city_id, o.indicator_id, o.dataset_id, o.period, o.value,
                   rank() OVER (PARTITION BY o.indicator_id, o.dataset_id, o.period
                                ORDER BY o.value DESC) AS rank,
                   count(*) OVER (PARTITION BY o.indicator_id, o.dataset_id, o.period)
                       AS cities
            FROM observation o JOIN mine USING (indicator_id, dataset_id, period)
            WHERE o.source_id = $source
        )
        SELECT r.indicator_id, i.name, i.unit, i.description, r.dataset_id,
               d.title AS dataset, r.period, r.value, r.rank, r.cities
        FROM ranked r
        JOIN indicator i USING (indicator_id)
        JOIN dataset d ON d.source_id = $source AND d.dataset_id = r.dataset_id
        WHERE r.city_id = $city
        ORDER BY r.dataset_id, r.indicator_id
    """, {"source": measures.SOURCE_ID, "city": city_id})


def network_reach(db: Path, city_id: str) -> pd.DataFrame:
    """The city networks the city is listed in, each once by name: how many cities,
    countries and continents its members are in, and the years of the lists."""
    return _frame(db, """
        WITH mine AS (
            SELECT DISTINCT n.name FROM membership m JOIN network n USING (network_id)
            WHERE n.kind = 'city-network' AND m.city_id = $city
        )
        SELECT n.name AS network, count(DISTINCT m.city_id) AS cities,
               count(DISTINCT c.country_iso2) AS countries,
               count(DISTINCT co.continent) AS continents,
               string_agg(DISTINCT m.period::VARCHAR, ', ' ORDER BY m.period::VARCHAR)
                   AS listed
        FROM membership m JOIN network n USING (network_id) JOIN mine USING (name)
        JOIN city c USING (city_id) JOIN country co ON co.iso2 = c.country_iso2
        GROUP BY n.name
        ORDER BY cities DESC, network
    """, {"city": city_id})


def air_partners(db: Path, city_id: str, top: int = 10) -> pd.DataFrame:
    """The cities with the most airline routes to this one: name, country, routes."""
    return _frame(db, """
        WITH mine AS (
            SELECT CASE WHEN city_a = $city THEN city_b ELSE city_a END AS city_id,
                   max(weight) AS routes
            FROM city_link
            WHERE kind = 'air-route' AND (city_a = $city OR city_b = $city)
            GROUP BY ALL
        )
        SELECT m.city_id, c.name, c.country_iso2 AS country, m.routes
        FROM mine m JOIN city c USING (city_id)
        ORDER BY m.routes DESC, c.name
        LIMIT $top
    """, {"city": city_id, "top": top})


def city_practices(db: Path, city_id: str) -> pd.DataFrame:
    """The city's practices and lessons (warehouse/practices.py), failures with the rest."""
    with reading(db) as con:
        return pd.DataFrame(practices.practices(con, [city_id]), columns=practices.COLUMNS)


def city_series(db: Path, city_id: str) -> pd.DataFrame:
    """Every indicator the city has two or more periods of (UN WUP 1950-2035, Eurostat's
    city statistics...): indicator_id, name, unit, source_id, period, value and projected
    (the publisher's flag 'f': UN WUP's years after 2018), by indicator and period. Two
    sources giving one period keep the higher value, as the scoring reads."""
    return _frame(db, """
        WITH obs AS (
            SELECT indicator_id, period, max(value) AS value,
                   bool_or(coalesce(contains(flag, 'f'), false)) AS projected
            FROM observation WHERE city_id = $city AND value IS NOT NULL
            GROUP BY ALL
        ),
        series AS (SELECT indicator_id FROM obs GROUP BY ALL HAVING count(*) > 1)
        SELECT o.indicator_id, coalesce(i.name, o.indicator_id) AS name, i.unit, i.source_id,
               o.period, o.value, o.projected
        FROM obs o JOIN series USING (indicator_id)
        LEFT JOIN indicator i USING (indicator_id)
        ORDER BY o.indicator_id, o.period
    """, {"city": city_id})


def attributions_of(db: Path, indicator_ids: Sequence[str] = (),
                    link_kinds: Sequence[str] = (), memberships: bool = False) -> list[str]:
    """The attribution texts of the sources of these indicators, of these kinds of city link
    ('air-route', 'twinning') and, with `memberships`, of the city networks' member lists:
    the credits of a view that shows only those."""
    return _frame(db, """
        SELECT DISTINCT attribution FROM source
        WHERE source_id IN (SELECT source_id FROM indicator
                            WHERE list_contains($indicators, indicator_id))
           OR source_id IN (SELECT DISTINCT source_id FROM city_link
                            WHERE list_contains($kinds, kind))
           OR ($memberships AND source_id IN (SELECT DISTINCT source_id FROM membership))
        ORDER BY attribution
    """, {"indicators": list(indicator_ids), "kinds": list(link_kinds),
          "memberships": memberships})["attribution"].tolist()
