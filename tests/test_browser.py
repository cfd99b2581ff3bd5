"""The real app in a real headless Chromium (Debian's), started by `citybench app`."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from app.ui import HEADLINE
from tests.app_fixtures import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle
from tests.conftest import ROOT, copy_of, query, refresh

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    if os.environ.get("CITYBENCH_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing; `make test` installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_data_quality_page_shows_what_was_rejected_and_why(registry, browser, tmp_path):
    # the packaged GeoNames, whose few impossible values are rejected (the starter snapshot
    # holds none: they were rejected when it was built), published as a refresh publishes
    db = copy_of(registry, tmp_path)
    refresh(db, [])
    (rejected,) = query(db, "SELECT count(*) FROM rejected")[0]
    assert rejected > 0
    with running_app(db) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{base}/quality")
        expect(page.get_by_role("heading", name="Data quality")).to_be_visible(timeout=30_000)
        expect(page.get_by_text(f"{rejected} row(s) rejected")).to_be_visible()
        chart = page.locator("[data-testid=stVegaLiteChart]").first
        expect(chart.locator('[aria-label^="Y-axis"]')).to_have_attribute(
            "aria-label", re.compile("geonames"), timeout=30_000)
        expect(page.get_by_role("heading", name="Freshness")).to_be_visible()
        wait_until_idle(page)
        png = tmp_path / "quality.png"
        page.screenshot(path=str(png), full_page=True)
        page.close()
    content = png.read_bytes()
    assert content.startswith(b"\x89PNG") and len(content) > 30_000


# --- a user's journey through every page -------------------------------------------------------

# Kept after the run (CI may archive them); looked at when a page changes.
SHOTS = ROOT / "test-artifacts" / "screenshots"
PAGES = {"rankings": "", "city": "city?city=gn:2509954", "explorer": "explorer",
         "networks": "networks", "sources": "sources", "quality": "quality",
         "downloads": "downloads"}


# Streamlit tells a phone by its browser's user agent, not by the width alone
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1")


def _select(page, label: str, option: str | re.Pattern) -> None:
    """Pick `option` in the selectbox labelled `label`, once the page's run has ended (while
    a rerun draws, the selectbox of the run before can still be there beside the new one)."""
    wait_until_idle(page)
    page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_text(label, exact=True)).click()
    page.get_by_role("option", name=option, exact=isinstance(option, str)).click()


def _download(page, button) -> bytes:
    with page.expect_download() as started:
        button.click()
    return Path(started.value.path()).read_bytes()


def _shows_no_error(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def _top_of_ranking(db) -> tuple[str, str]:
    """The Rankings page's first city (the headline's rank 1, when its run scored cities)."""
    shown = query(db, "SELECT CASE WHEN count(*) > 0 THEN ? ELSE 'prominence' END "
                      "FROM score_run WHERE framework_id = ? AND cities > 0",
                  (HEADLINE, HEADLINE))[0][0]
    return query(db, """
        SELECT c.name, c.country_iso2 FROM score s JOIN city c USING (city_id)
        JOIN score_run r USING (score_run_id)
        WHERE s.node_kind = 'index' AND s.rank = 1 AND r.framework_id = ?""", (shown,))[0]


def test_a_users_journey_through_every_page(published, browser, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    top_name, top_iso2 = _top_of_ranking(published)
    rank, country_rank, in_country = query(published, """
        SELECT s.rank, s.rank_country, (SELECT count(*) FROM score p JOIN city pc USING (city_id)
            WHERE p.score_run_id = s.score_run_id AND p.node_kind = 'index'
              AND p.rank IS NOT NULL AND pc.country_iso2 = 'ES')
        FROM score s JOIN score_run r USING (score_run_id)
        WHERE s.city_id = 'gn:2509954' AND s.node_kind = 'index' AND r.framework_id = ?""",
        (HEADLINE,))[0]
    # started outside the repository, as a user would: the toolbar setting travels with
    # `citybench app`, not with the repository's .streamlit/config.toml
    with running_app(published, cwd=tmp_path) as base:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(base)
        # the y axis as Vega drew it, bars in rank order: the top city first
        expect(page.locator("[data-testid=stVegaLiteChart]").first.locator(
            '[aria-label^="Y-axis"]')).to_have_attribute(
            "aria-label", re.compile(f"values: {re.escape(f'{top_name}, {top_iso2}')},"),
            timeout=30_000)
        wait_until_idle(page)
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
        expect(page.get_by_text("Deploy", exact=True)).to_have_count(0)
        # an ambiguous name is listed with the countries, and nothing is picked until the user
        # picks one
        page.goto(f"{base}/city")
        wait_until_idle(page)
        page.get_by_label("Search a city").fill("Valencia")
        page.get_by_label("Search a city").press("Enter")
        expect(page.get_by_text("could be 6 cities")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("heading", name="Valencia, Spain")).to_have_count(0)
        _select(page, "City", re.compile(r"^Valencia, Spain"))
        expect(page.get_by_role("heading", name="Valencia, Spain")).to_be_visible()
        expect(page).to_have_url(re.compile(r"city=gn(:|%3A)2509954"))
        expect(page.get_by_test_id("stMetric").filter(has_text="Rank among cities of Spain")
               ).to_contain_text(f"{country_rank:,} of {in_country:,}")
        expect(page.get_by_test_id("stMetric").filter(has_text="Rank among all cities")
               ).to_contain_text(f"{rank:,} of ")
        # other peers: the address carries them
        _select(page, "Peers", "Same country")
        expect(page).to_have_url(re.compile(r"peers=same-country"))
        wait_until_idle(page)
        _shows_no_error(page)
        city_url = page.url
        # the first chart (where the city stands among its peers) and the table behind it
        png = _download(page, page.get_by_role("button", name="PNG").first)
        assert Image.open(io.BytesIO(png)).format == "PNG"
        assert Image.open(io.BytesIO(png)).size[0] > 600  # drawn at 2x
        svg = ElementTree.fromstring(_download(page, page.get_by_role("button", name="SVG")
                                               .first))
        assert svg.tag.endswith("svg")
        card = pd.read_csv(io.BytesIO(_download(
            page, page.get_by_role("button", name="Report card (CSV)"))))
        assert {"node_id", "rank", "peer_median"} <= set(card.columns) and len(card) > 1

        # Rankings by another perspective: the weights go into the address
        page.goto(base)
        wait_until_idle(page)
        _select(page, "Perspective", "Air hub")
        expect(page).to_have_url(re.compile(r"weights="))
        wait_until_idle(page)
        _shows_no_error(page)
        ranking = pd.read_csv(io.BytesIO(_download(
            page, page.get_by_role("button", name=re.compile(r"^Download all .* rows")))))
        scored = query(published, "SELECT count(*) FROM score s JOIN score_run r "
                                  "USING (score_run_id) WHERE r.framework_id = ? AND "
                                  "s.node_kind = 'index' AND s.rank IS NOT NULL",
                       (HEADLINE,))[0][0]
        assert len(ranking) == scored  # every city, not the top shown
        rankings_url = page.url

        # shared addresses reproduce the views in a fresh page
        other = browser.new_page(viewport={"width": 1440, "height": 900})
        other.goto(rankings_url)
        expect(other.get_by_role("combobox", name="Perspective")).to_have_value(
            "Air hub", timeout=30_000)
        other.goto(city_url)
        expect(other.get_by_role("heading", name="Valencia, Spain")).to_be_visible(
            timeout=30_000)
        expect(other.get_by_role("combobox", name="Peers")).to_have_value("Same country")
        other.close()

        # every page opens without an error; each is drawn at desktop and at phone width
        # (tall: the app scrolls inside its own frame, so a screenshot holds only what the
        # viewport does). The width changes in the browser alone: the page is not run again.
        for name, path in PAGES.items():
            page.set_viewport_size({"width": 1440, "height": 2400})
            page.goto(f"{base}/{path}")
            expect(page.locator("h1")).to_be_visible(timeout=30_000)
            wait_until_idle(page, timeout_ms=60_000)
            _shows_no_error(page)
            page.screenshot(path=str(SHOTS / f"{name}-1440.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 3200})
            page.wait_for_timeout(500)  # Vega redraws each chart at the new width
            page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
        # raw data: a table as Parquet, written by DuckDB when the button is pressed
        page.set_viewport_size({"width": 1440, "height": 2400})
        page.goto(f"{base}/downloads")
        row = page.get_by_test_id("stHorizontalBlock").filter(
            has=page.get_by_text("country", exact=True))
        parquet = pq.read_table(io.BytesIO(_download(
            page, row.get_by_role("button", name="Parquet"))))
        assert parquet.num_rows == query(published, "SELECT count(*) FROM country")[0][0]
        page.close()

        # on a phone the pages are in the sidebar, which gets out of the way once one is chosen
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True, user_agent=PHONE)
        page = phone.new_page()
        page.goto(base)
        wait_until_idle(page)
        page.get_by_test_id("stExpandSidebarButton").tap()
        page.get_by_role("link", name="My city").tap()
        expect(page.get_by_role("heading", name="City profile")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stSidebarNav")).not_to_be_in_viewport()
        phone.close()
    for shot in SHOTS.glob("*.png"):
        assert Image.open(shot).size[0] >= 390
