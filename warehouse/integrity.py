"""Cross-table checks run on the staging file before it may be published."""

from __future__ import annotations

import duckdb

# (description, query counting the offending rows)
_CHECKS = [
    (
        "observations of unknown cities",
        "SELECT count(*) FROM observation o ANTI JOIN city c USING (city_id)",
    ),
    (
        "observations of unknown indicators",
        "SELECT count(*) FROM observation o ANTI JOIN indicator i USING (indicator_id)",
    ),
    (
        "observations of unknown sources",
        "SELECT count(*) FROM observation o ANTI JOIN source s USING (source_id)",
    ),
    (
        "aliases of unknown cities",
        "SELECT count(*) FROM city_alias a ANTI JOIN city c USING (city_id)",
    ),
    (
        "cities of unknown countries",
        "SELECT count(*) FROM city c ANTI JOIN country k ON k.iso2 = c.country_iso2",
    ),
    ("scores of unknown cities", "SELECT count(*) FROM score s ANTI JOIN city c USING (city_id)"),
    (
        "observations of unknown datasets",
        "SELECT count(*) FROM observation o ANTI JOIN dataset d USING (source_id, dataset_id)",
    ),
    (
        "memberships of unknown cities",
        "SELECT count(*) FROM membership m ANTI JOIN city c USING (city_id)",
    ),
    (
        "memberships of unknown networks",
        "SELECT count(*) FROM membership m ANTI JOIN network n USING (network_id)",
    ),
    (
        "memberships of unknown datasets",
        "SELECT count(*) FROM membership m ANTI JOIN dataset d USING (source_id, dataset_id)",
    ),
    (
        "links of unknown cities",
        "SELECT count(*) FROM city_link l WHERE l.city_a NOT IN (SELECT city_id FROM city)"
        " OR l.city_b NOT IN (SELECT city_id FROM city)",
    ),
    (
        "links of unknown datasets",
        "SELECT count(*) FROM city_link l ANTI JOIN dataset d USING (source_id, dataset_id)",
    ),
]


def violations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """One line per broken rule, empty when the warehouse is consistent."""
    found = []
    for description, query in _CHECKS:
        count = con.execute(query).fetchone()[0]
        if count:
            found.append(f"{count} {description}")
    return found
