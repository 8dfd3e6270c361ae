"""The web app of a service started with a token, in real Chromium: a page opened once with
?token=... leaves an HttpOnly cookie, after which pages, links and the live polling work without
the query parameter; without the token a page says what to do."""
import pytest

from service_process import ServiceProcess
from web_browser import WatchedPage, browser  # noqa: F401 (fixture)
from web_seed import RunSeeder

TOKEN = "web-s3cret"
HYPERPARAMETERS = {"optimizer_name": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 50, "dropout": 0.1}
LOSS_POINTS = """() => { const el = document.querySelector('#charts .chart'); const chart = el && echarts.getInstanceByDom(el);
  return chart ? chart.getOption().series.find(s => s.name === 'loss').data.length : 0; }"""


@pytest.fixture(scope="module")
def locked_service(tmp_path_factory):
    service = ServiceProcess(tmp_path_factory.mktemp("weblocked") / "dfa-data", token=TOKEN).start()
    yield service
    service.stop()


def test_the_token_once_then_a_cookie_for_pages_links_and_live_polling(browser, locked_service):  # noqa: F811
    seeder = RunSeeder(locked_service.url, "weblocked", token=TOKEN)
    training = seeder.run("locked-run", HYPERPARAMETERS, epochs=3, status="RUNNING")
    page = WatchedPage(browser, locked_service.url)
    try:
        p = page.goto(f"/?dataflow=weblocked&token={TOKEN}")
        # The service answered with a cookie and the same address without the token.
        assert "token" not in p.url and "dataflow=weblocked" in p.url
        (cookie,) = page.context.cookies()
        assert cookie["value"] == TOKEN and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert TOKEN not in p.evaluate("document.cookie")
        p.wait_for_selector("#runs tbody tr[data-run='locked-run']")
        # A link to another page: its HTML and its API requests pass with the cookie alone.
        p.click("#runs tbody tr[data-run='locked-run'] a[href^='/runs/']")
        p.wait_for_function(f"({LOSS_POINTS})() === 3")
        assert "token" not in p.url
        # The page polls while the run is RUNNING: new epochs arrive without a reload.
        p.evaluate("window.stillTheSamePage = true")
        seeder.add_epochs("locked-run", training, HYPERPARAMETERS, 4, 6)
        p.wait_for_function(f"({LOSS_POINTS})() === 6", timeout=60_000)
        assert p.evaluate("window.stillTheSamePage") is True
        seeder.finish("locked-run", training)
        p.wait_for_function("document.querySelector('#run-status').textContent === 'FINISHED'", timeout=60_000)
        assert page.problems == []
    finally:
        page.close()


def test_without_the_token_a_page_says_how_to_open_it(browser, locked_service):  # noqa: F811
    page = WatchedPage(browser, locked_service.url)
    try:
        response = page.page.goto(locked_service.url + "/analysis?dataflow=weblocked")
        assert response.status == 401
        said = page.page.text_content("#token-required")
        assert "/analysis?token=<token>" in said and "DFA_TOKEN" in said
        assert "requires a token" in page.page.text_content("h1")
        assert page.context.cookies() == []
        wrong = page.page.goto(locked_service.url + "/?token=nope")
        assert wrong.status == 401 and "token is wrong" in page.page.text_content("h1")
    finally:
        page.close()
