"""The real app in a real headless Chromium (Debian's), started by `citybench app`."""

from __future__ import annotations

import os

import pytest

from tests.app_fixtures import CHROMIUM, CHROMIUM_ARGS, running_app, wait_until_idle

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


def test_rankings_then_a_city_chosen_in_the_picker(published, browser, tmp_path):
    with running_app(published) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base)
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=30_000)
        wait_until_idle(page)
        expect(page.get_by_text("City rankings")).to_be_visible()
        expect(page.locator("[data-testid=stDataFrame]")).to_be_visible()
        expect(page.get_by_text("GeoNames (geonames.org), CC BY 4.0").first).to_be_visible()
        rankings_png = tmp_path / "rankings.png"
        page.screenshot(path=str(rankings_png), full_page=True)

        page.goto(f"{base}/city")
        page.wait_for_selector("[data-testid=stSelectbox]", timeout=30_000)
        wait_until_idle(page)
        page.get_by_label("Search a city").fill("Lagos")
        page.get_by_label("Search a city").press("Enter")
        wait_until_idle(page)
        page.locator("[data-testid=stSelectbox]").click()
        page.get_by_role("option", name="Lagos, Nigeria").first.click()
        wait_until_idle(page)
        expect(page.get_by_text("Lagos, Nigeria").first).to_be_visible()
        expect(page.get_by_text("Rank among cities of Nigeria")).to_be_visible()
        chart = page.locator("[data-testid=stVegaLiteChart]").first
        expect(chart.locator("canvas, svg").first).to_be_visible()
        city_png = tmp_path / "city.png"
        page.screenshot(path=str(city_png), full_page=True)
    for png in (rankings_png, city_png):
        content = png.read_bytes()
        assert content.startswith(b"\x89PNG") and len(content) > 50_000
