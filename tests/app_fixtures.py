"""A small synthetic warehouse and a way to run the real app against one.

The warehouse is built through the real migration, and its scores are computed here with the
published semantics (min-max normalisation, equal-weight composite, rank 1 = best, percentile
100 = top, per all cities / country / continent), so page tests can compare what the app shows
with numbers computed independently of the app's SQL.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.migrate import migrate

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# No first-run work, no background traffic: the machine is offline and the tests must not wait.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

FRAMEWORK = "prominence"
PERIOD = 2024

COUNTRIES = pd.DataFrame(
    [
        ("GB", "GBR", "United Kingdom", "EU", 66_488_991, "London"),
        ("DE", "DEU", "Germany", "EU", 82_927_922, "Berlin"),
        ("JP", "JPN", "Japan", "AS", 126_529_100, "Tokyo"),
    ],
    columns=["iso2", "iso3", "name", "continent", "population", "capital"],
)

# Real GeoNames ids and coordinates; names with diacritics exercise the accent-blind search.
CITIES = pd.DataFrame(
    [
        ("gn:2643743", "London", "London", "GB", "GBR", 51.50853, -0.12574, 8_961_989, True),
        ("gn:2643123", "Manchester", "Manchester", "GB", "GBR", 53.48095, -2.23743, 552_858, False),
        ("gn:2655603", "Birmingham", "Birmingham", "GB", "GBR", 52.48142, -1.89983, 1_144_919,
         False),
        ("gn:2950159", "Berlin", "Berlin", "DE", "DEU", 52.52437, 13.41053, 3_426_354, True),
        ("gn:2867714", "München", "Muenchen", "DE", "DEU", 48.13743, 11.57549, 1_260_391, False),
        ("gn:2886242", "Köln", "Koeln", "DE", "DEU", 50.93333, 6.95, 963_395, False),
        ("gn:1850147", "Tokyo", "Tokyo", "JP", "JPN", 35.6895, 139.69171, 8_336_599, True),
        ("gn:1853909", "Ōsaka", "Osaka", "JP", "JPN", 34.69374, 135.50218, 2_592_413, False),
    ],
    columns=["city_id", "name", "ascii_name", "country_iso2", "country_iso3", "latitude",
             "longitude", "population", "is_capital"],
)

SOURCES = pd.DataFrame(
    [
        ("geonames", "GeoNames", "cities15000",
         "https://download.geonames.org/export/dump/cities15000.zip", "CC BY 4.0",
         "City data: GeoNames (geonames.org), CC BY 4.0", "2025-06-01",
         pd.Timestamp("2025-06-01 05:00", tz="UTC")),
        ("worldbank", "World Bank", "World Development Indicators: population",
         "https://api.worldbank.org/v2/country/all/indicator/SP.POP.TOTL", "CC BY 4.0",
         "Country population: World Bank WDI, CC BY 4.0", "2025-05-01",
         pd.Timestamp("2025-05-01 05:00", tz="UTC")),
    ],
    columns=["source_id", "publisher", "dataset", "url", "licence", "attribution",
             "dataset_version", "retrieved_at"],
)

INDICATORS = pd.DataFrame(
    [
        ("population", "Population", "persons", 1, "demography", "Residents of the city.",
         "geonames"),
        ("national_population_share", "Share of national population", "%", 1, "demography",
         "City population as a share of its country's population.", "worldbank"),
        ("capital", "National capital", "0/1", 1, "status",
         "1 if the city is its country's capital.", "geonames"),
        ("market_potential_300km", "Market potential within 300 km", "persons", 1, "access",
         "Population of all cities within 300 km, the city included.", "geonames"),
    ],
    columns=["indicator_id", "name", "unit", "direction", "domain", "description", "source_id"],
)

FAILED_LOAD_ERROR = "HTTP 503 Service Unavailable from api.worldbank.org after 3 attempts"
# A source whose very first load failed: it has a failed load and no `source` row.
NEVER_LOADED = ("oecd", "sdmx.oecd.org: timed out after 60 s")


@dataclass(frozen=True)
class Synthetic:
    path: Path
    scores: pd.DataFrame  # the current run: one row per city and node, with city/country names
    stale_top_city: str  # top city of the older, superseded run


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def observations() -> pd.DataFrame:
    cities = CITIES.merge(COUNTRIES[["iso2", "population"]].rename(
        columns={"iso2": "country_iso2", "population": "country_population"}))
    rows = []
    for city in cities.itertuples():
        potential = sum(
            other.population for other in cities.itertuples()
            if _km(city.latitude, city.longitude, other.latitude, other.longitude) <= 300
        )
        values = {
            "population": city.population,
            "national_population_share": 100 * city.population / city.country_population,
            "capital": float(city.is_capital),
            "market_potential_300km": potential,
        }
        rows += [(city.city_id, key, float(value)) for key, value in values.items()]
    return pd.DataFrame(rows, columns=["city_id", "indicator_id", "value"])


def _rank_and_percentile(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    rank = values.rank(method="min", ascending=False).astype(int)
    below = values.rank(method="min", ascending=True) - 1
    percentile = 100 * below / (len(values) - 1) if len(values) > 1 else below * 0 + 100.0
    return rank, percentile


def compute_scores(obs: pd.DataFrame) -> pd.DataFrame:
    """Min-max normalise each indicator, average them into the index, rank every node."""
    wide = obs.pivot(index="city_id", columns="indicator_id", values="value")
    normalised = (wide - wide.min()) / (wide.max() - wide.min())
    index = normalised.mean(axis=1)
    frames = []
    for node_id in wide.columns:
        frames.append(pd.DataFrame({"node_id": node_id, "node_kind": "indicator",
                                    "value": wide[node_id], "normalised": normalised[node_id]}))
    frames.append(pd.DataFrame({"node_id": FRAMEWORK, "node_kind": "index", "value": index,
                                "normalised": (index - index.min()) / (index.max() - index.min())}))
    scores = pd.concat(frames).rename_axis("city_id").reset_index()
    scores = scores.merge(CITIES[["city_id", "name", "country_iso2"]]).merge(
        COUNTRIES[["iso2", "continent"]].rename(columns={"iso2": "country_iso2"}))
    for suffix, group in (("", ["node_id"]), ("_country", ["node_id", "country_iso2"]),
                          ("_continent", ["node_id", "continent"])):
        ranked = scores.groupby(group)["value"]
        scores["rank" + suffix] = ranked.transform(lambda v: _rank_and_percentile(v)[0])
        scores["percentile" + suffix] = ranked.transform(lambda v: _rank_and_percentile(v)[1])
        scores["peers" + suffix] = ranked.transform("size")
    return scores


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("incoming", frame)
    columns = ", ".join(f'"{column}"' for column in frame.columns)
    con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM incoming')
    con.unregister("incoming")


def _score_run(con, run_id: str, created_at: str, scores: pd.DataFrame) -> None:
    _insert(con, "score_run", pd.DataFrame([{
        "score_run_id": run_id, "framework_id": FRAMEWORK,
        "framework": "[index]\nid = 'prominence'\n", "method": "normalise = 'minmax'\n",
        "framework_hash": "f" + run_id, "method_hash": "m" + run_id, "input_hash": "i" + run_id,
        "created_at": pd.Timestamp(created_at, tz="UTC"), "cities": len(CITIES),
    }]))
    columns = ["city_id", "node_id", "node_kind", "value", "normalised", "rank", "percentile",
               "rank_country", "percentile_country", "rank_continent", "percentile_continent"]
    _insert(con, "score", scores[columns].assign(score_run_id=run_id))


def build_warehouse(path: Path) -> Synthetic:
    obs = observations()
    scores = compute_scores(obs)
    # An older run that ranks the cities the other way round; the app must ignore it.
    stale = compute_scores(obs.assign(value=-obs.value))
    con = duckdb.connect(str(path))
    try:
        migrate(con)
        _insert(con, "source", SOURCES)
        _insert(con, "dataset", SOURCES[["source_id", "url", "dataset_version", "retrieved_at"]]
                .assign(dataset_id=SOURCES["source_id"], title=SOURCES["dataset"])
                .rename(columns={"dataset_version": "last_update"}))
        _insert(con, "country", COUNTRIES)
        _insert(con, "city", CITIES.assign(admin1=None, wikidata_qid=None))
        _insert(con, "indicator", INDICATORS)
        with_source = obs.merge(INDICATORS[["indicator_id", "source_id"]])
        _insert(con, "observation", with_source.assign(
            period=PERIOD, flag=None, load_id=3, dataset_id=with_source["source_id"]))
        loads = pd.DataFrame(
            [
                (1, "geonames", "2025-05-01 05:00", "2025-05-01 05:01", "success", 8, 24, 24, 0,
                 None),
                (2, "worldbank", "2025-05-01 05:00", "2025-05-01 05:02", "success", 3, 8, 8, 0,
                 None),
                (3, "geonames", "2025-06-01 05:00", "2025-06-01 05:01", "success", 8, 24, 2, 1,
                 None),
                (4, "worldbank", "2025-06-01 05:00", "2025-06-01 05:03", "failed", 0, 8, 0, 0,
                 FAILED_LOAD_ERROR),
                (5, NEVER_LOADED[0], "2025-06-01 05:00", "2025-06-01 05:04", "failed", 0, 0, 0, 0,
                 NEVER_LOADED[1]),
            ],
            columns=["load_id", "source_id", "started_at", "finished_at", "status", "rows_read",
                     "rows_loaded", "rows_changed", "rows_rejected", "error"],
        )
        for column in ("started_at", "finished_at"):
            loads[column] = pd.to_datetime(loads[column]).dt.tz_localize("UTC")
        _insert(con, "load", loads.assign(flow_run_id="synthetic"))
        _score_run(con, "run-old", "2025-05-01 05:05", stale)
        _score_run(con, "run-new", "2025-06-01 05:05", scores)
        _insert(con, "publication", pd.DataFrame(
            [
                (1, pd.Timestamp("2025-05-01 05:06", tz="UTC"), "first publication"),
                (2, pd.Timestamp("2025-06-01 05:06", tz="UTC"),
                 "geonames refreshed; worldbank failed, its previous data kept"),
            ],
            columns=["version", "published_at", "summary"],
        ))
    finally:
        con.close()
    top = stale[stale.node_id == FRAMEWORK].sort_values("rank").iloc[0]["name"]
    return Synthetic(path=path, scores=scores, stale_top_city=top)


# --- the real app in a subprocess -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(db_path: Path, timeout: float = 30.0, cwd: Path = REPO) -> Iterator[str]:
    """Start `citybench app` on a free local port against db_path, in `cwd` (the repository
    by default); yield its base URL."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("citybench")), "app", "--port", str(port),
               "--db", str(db_path)]
    env = dict(os.environ)
    server = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{server.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit not healthy on {base} after {timeout} s")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


def wait_until_idle(page, timeout_ms: float = 20_000) -> None:
    """Wait until no script run is going on and no skeleton is left.

    Right after a click the rerun may not have started yet, so this alone can pass too early:
    after an interaction, also wait for content that only the new run produces.
    """
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]",
                           timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stSkeleton]", state="detached", timeout=timeout_ms)


def screenshot_app(db_path: Path, out_png: Path, page_url_suffix: str = "",
                   ready_selector: str = "[data-testid=stVegaLiteChart]",
                   viewport: tuple[int, int] = (1400, 1000)) -> Path:
    """Open one page of the app (e.g. "city?city=gn:2643743") and save a full-page PNG."""
    from playwright.sync_api import sync_playwright

    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with running_app(Path(db_path)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.goto(f"{base}/{page_url_suffix.lstrip('/')}")
            page.wait_for_selector(ready_selector, timeout=30_000)
            wait_until_idle(page)
            page.screenshot(path=str(out_png), full_page=True)
        finally:
            browser.close()
    return out_png
