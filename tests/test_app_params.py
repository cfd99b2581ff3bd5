"""Every page given the bad addresses issue 16 lists at once: an unknown city, SQL in a
parameter, a 10,000-character value, weights of 1e308 and -1. Each page says in warning lines
what it ignored, shows no error or exception, and still shows its content."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app" / "streamlit_app.py")
BAD = {
    "city": "x' OR 1=1--",
    "peers": "x" * 10_000,
    "k": "-1",
    "framework": "'; DROP TABLE score; --",
    "weights": "air:1e308,twinning:-1",
    "indicator": "x" * 10_000,
    "versus": "population; DELETE FROM city",
    "top": "1e308",
}


@pytest.mark.parametrize("page", ["views/rankings.py", "views/explorer.py",
                                  "views/networks.py", "views/sources.py", "views/quality.py",
                                  "views/downloads.py"])
def test_a_bad_address_is_said_in_one_line_each_and_the_page_works(published, monkeypatch,
                                                                     page):
    monkeypatch.setenv("CITYBENCH_DB", str(published))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(BAD)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title, "the page stopped before its title"
    # one line for each parameter ignored (the page's own warnings, such as a source frozen
    # by its publisher, are not about the address)
    ignored = [w.value for w in at.warning if w.value.startswith("The address's ")]
    assert all("\n" not in line and "was ignored" in line for line in ignored), ignored
    assert len(ignored) <= len(BAD)
    said = " ".join(ignored)
    if page == "views/rankings.py":
        assert "weights=" in said and "top=" in said and "framework=" in said
        assert at.get("vega_lite_chart"), "the ranking is still drawn"
    if page in ("views/explorer.py", "views/networks.py"):
        assert "city=" in said


def test_the_city_page_refuses_a_bad_city_in_one_line_and_lists_nothing_silently(
        published, monkeypatch):
    """The city page cannot go on without its city: it says so in one line, and chooses none."""
    monkeypatch.setenv("CITYBENCH_DB", str(published))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(BAD)
    at.switch_page("views/city.py").run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "names no one city" in at.error[0].value
    assert not at.get("vega_lite_chart")
