"""The dashboard at / in a real headless Chromium, on a real server: live numbers, filters, text stays text."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from core.settings import Settings
from tests.support.events import booking, daily_bookings, make_event
from tests.support.processes import pulse, running_server

SCREENSHOTS = Path(__file__).parent / "artifacts"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1920,1080",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def text(driver: webdriver.Chrome, test_id: str) -> str:
    found: str = driver.find_element(By.CSS_SELECTOR, f"[data-testid='{test_id}']").text
    return found


def wait_until(driver: webdriver.Chrome, condition: Any, timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition())


def test_the_dashboard_shows_live_figures_and_event_text_as_text(database_url: str, browser: webdriver.Chrome) -> None:
    assert (Settings().dashboard_dir / "index.html").is_file(), "the dashboard is not built: run make setup"
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base:

        def post(*events: dict[str, Any]) -> None:
            assert httpx2.post(base + "/v1/events", json=list(events), timeout=10).status_code == 200

        post(
            booking("Lisbon", amount="100.00", currency="USD"),
            booking("Tokyo", "hotel", amount="80.00", currency="USD"),
            make_event("search.performed", destination="Lisbon"),
        )
        browser.get(base + "/")
        wait_until(browser, lambda: text(browser, "connection") == "live")
        wait_until(browser, lambda: text(browser, "kpi-bookings") == "2")
        assert browser.current_url.rstrip("/") == base

        # Numbers change in place, without a reload.
        marker = browser.execute_script("window.__sameDocument = true; return window.__sameDocument")
        post(booking(HOSTILE, amount="250.00", currency="USD"))
        wait_until(browser, lambda: text(browser, "kpi-bookings") == "3")
        assert marker and browser.execute_script("return window.__sameDocument") is True
        assert "$430" in text(browser, "kpi-revenue").replace(",", "").replace(".00", "")

        # A destination named like markup is shown as those characters, and runs nothing.
        wait_until(browser, lambda: HOSTILE in text(browser, "top-destinations"))
        assert browser.execute_script("return window.__pwned") is None
        assert browser.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
        for chart in ("chart-hourly", "chart-top-destinations", "chart-booking-types", "chart-funnel"):
            assert browser.find_element(By.CSS_SELECTOR, f"[data-testid='{chart}']").is_displayed()
        assert text(browser, "last-position") not in ("", "—")

        SCREENSHOTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOTS / "dashboard.png"))

        # A filter changes what the stream sends: only Tokyo's figures.
        picker = browser.find_element(By.CSS_SELECTOR, "[data-testid='filter-destination']")
        wait_until(browser, lambda: "Tokyo" in picker.text)
        Select(picker).select_by_value("Tokyo")
        wait_until(browser, lambda: text(browser, "kpi-bookings") == "1" and "destination=Tokyo" in browser.current_url)
        assert "Lisbon" not in text(browser, "top-destinations")
        wait_until(browser, lambda: text(browser, "connection") == "live")


# Pixels of the forecast chart's plot area right of the middle (the days ahead: 30 of the 90 days shown) and
# below the legend, in the band's orange (Okabe-Ito #E69F00, drawn translucent) or the forecast line's
# vermillion: red well above green, green well above blue. The actual series is blue, the grid grey.
FORECAST_PIXELS = """
const canvas = document.querySelector("[data-testid='chart-forecast']");
const top = Math.floor(canvas.height * 0.3), left = Math.floor(canvas.width * 0.6);
const data = canvas.getContext('2d').getImageData(left, top, canvas.width - left, canvas.height - top).data;
let found = 0;
for (let i = 0; i < data.length; i += 4) {
  if (data[i + 3] > 0 && data[i] > data[i + 1] + 40 && data[i + 1] > data[i + 2] + 40) found++;
}
return found;
"""


def test_the_forecast_band_appears_once_a_forecast_exists(database_url: str, browser: webdriver.Chrome) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    history = daily_bookings({("Lisbon", "flight"): 5, ("Tokyo", "hotel"): 3}, days=56, last_day=yesterday)
    with running_server(database_url, PULSE_POLL_INTERVAL="0.2") as base:
        for start in range(0, len(history), 1000):
            posted = httpx2.post(base + "/v1/events", json=history[start : start + 1000], timeout=30)
            assert posted.status_code == 200
        browser.get(base + "/")
        wait_until(browser, lambda: text(browser, "forecast-note") == "No forecast for this selection yet.")
        assert browser.execute_script(FORECAST_PIXELS) == 0

        def caught_up() -> bool:
            status = httpx2.get(base + "/v1/status", timeout=10).json()
            return bool(status["projections"]["bookings"]["lag"] == 0)

        wait_until(browser, caught_up)
        done = pulse(database_url, "forecast", "run", "--only", "demand", "--jobs", "1")
        assert done.returncode == 0, done.stderr

        # The dashboard asks again every 10 minutes; a reload asks now.
        browser.refresh()
        wait_until(browser, lambda: "model bottom_up" in browser.find_element(By.CSS_SELECTOR, ".area-forecast").text)
        assert wait_until(browser, lambda: browser.execute_script(FORECAST_PIXELS) > 1000)
        assert "bottom-up" in text(browser, "forecast-note")
        wait_until(browser, lambda: text(browser, "connection") == "live")
        SCREENSHOTS.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOTS / "dashboard-forecast.png"))

        # A destination has a forecast of its own; a destination and a booking type together have none.
        picker = browser.find_element(By.CSS_SELECTOR, "[data-testid='filter-destination']")
        wait_until(browser, lambda: "Tokyo" in picker.text)
        Select(picker).select_by_value("Tokyo")
        wait_until(browser, lambda: "destination=Tokyo" in browser.current_url)
        wait_until(browser, lambda: browser.execute_script(FORECAST_PIXELS) > 1000)
        types = browser.find_element(By.CSS_SELECTOR, "[data-testid='filter-booking_type']")
        wait_until(browser, lambda: "hotel" in types.text)
        Select(types).select_by_value("hotel")
        wait_until(browser, lambda: text(browser, "forecast-note") == "No forecast for this selection yet.")
