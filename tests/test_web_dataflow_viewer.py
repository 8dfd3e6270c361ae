"""The Dataflow Viewer in real Chromium: a path query built by clicking gives the rows of the
hand-written SQL, and the console runs the SQL it generated; the original's addresses redirect."""
import pytest
import requests

import path_dataflow
from web_browser import browser, page  # noqa: F401 (fixtures)

HAND_WRITTEN = """
    SELECT i.source, t.epoch, t.loss, s.accuracy FROM paths.iload i
    JOIN paths.oload l ON l.load_task_id = i.load_task_id
    JOIN paths.otrain t ON t.train_task_id = l.train_task_id
    JOIN paths.otest s ON s.test_task_id = t.test_task_id
    WHERE t.epoch >= 1"""


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    path_dataflow.seed(shared_dfa_service.url)
    return shared_dfa_service


def click_set(page, set_tag):
    """A real mouse click on the set's node, where cytoscape drew it."""
    x, y = page.page.evaluate("""tag => {
        const node = window.dfaViewer.cy.$id('s:' + tag), box = document.getElementById('graph').getBoundingClientRect();
        const at = node.renderedPosition();
        return [box.left + at.x, box.top + at.y];
    }""", set_tag)
    page.page.mouse.click(x, y)
    page.page.wait_for_selector(f"#set-title:text-matches('^{set_tag} ')")


def table(page, selector):
    return page.page.eval_on_selector_all(f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")


def test_a_path_query_built_by_clicking_equals_hand_written_sql(page, service):
    page.goto(f"/dataflows/{path_dataflow.TAG}")
    page.page.wait_for_selector("body[data-ready]")
    assert page.page.evaluate("window.dfaViewer.cy.nodes('[kind=\"set\"]').length") == 5
    assert page.page.evaluate("window.dfaViewer.cy.nodes('[kind=\"transformation\"]').length") == 4
    assert page.page.evaluate("window.dfaViewer.cy.edges().length") == 8
    assert "7 rows" in page.page.evaluate("window.dfaViewer.cy.$id('s:oTrain').data('label')")
    assert len(table(page, "#executions")) == 2

    click_set(page, "iLoad")
    page.page.click("#roles [data-role=source]")
    page.page.check("[data-projection='iLoad.source']")
    click_set(page, "oTrain")
    page.page.check("[data-projection='oTrain.epoch']")
    page.page.check("[data-projection='oTrain.loss']")
    page.page.select_option("#selection-attribute", "epoch")
    page.page.select_option("#selection-operator", ">=")
    page.page.fill("#selection-value", "1")
    page.page.click("#selection-add")
    click_set(page, "oTest")
    page.page.click("#roles [data-role=target]")
    page.page.check("[data-projection='oTest.accuracy']")
    page.page.click("#generate")
    page.page.wait_for_selector("#path-meta[data-rows]")

    expected = sorted(tuple(row) for row in service.query(HAND_WRITTEN))
    assert len(expected) == 10
    shown = sorted((s, float(e), float(l), float(a)) for s, e, l, a in table(page, "#path-result"))
    assert shown == [(s, e, pytest.approx(l, rel=1e-3), a) for s, e, l, a in expected]
    assert "selection=oTrain.epoch" in page.page.url and "source=iLoad" in page.page.url

    # The generated SQL is editable and runs in the console, giving the same rows.
    generated = page.page.input_value("#generated-sql")
    assert "1.0" in generated and "?" not in generated
    page.page.click("#open-console")
    page.page.wait_for_selector("#result-meta[data-rows]")
    assert page.page.get_attribute("#result-meta", "data-rows") == str(len(expected))
    page.screenshot("dataflow-viewer-console.png")
    assert page.problems == [] and page.warnings == []


def test_the_state_is_in_the_url_and_the_original_addresses_redirect(page, service):
    page.goto(f"/dataflows/{path_dataflow.TAG}?set=oLoad&source=oLoad&target=oProfile&mapping=logical")
    page.page.wait_for_selector("body[data-ready]")
    assert page.page.input_value("#mapping") == "logical"
    assert page.page.get_attribute("#path-meta", "data-rows") == "4"  # two oLoad splits per dataset
    assert page.page.evaluate("window.dfaViewer.cy.edges('.on-path').length") == 2
    page.screenshot("dataflow-viewer.png")
    assert page.problems == [] and page.warnings == []

    df_id = service.query(f"SELECT id FROM dataflow WHERE tag = '{path_dataflow.TAG}'")[0][0]
    response = requests.get(f"{service.url}/dfview/visualization", params={"dfId": df_id}, allow_redirects=False, timeout=30)
    assert response.status_code == 301 and response.headers["location"] == f"/dataflows/{path_dataflow.TAG}"
    assert requests.get(f"{service.url}/dfview", allow_redirects=False, timeout=30).headers["location"] == "/dataflows"
    assert requests.get(f"{service.url}/dfview/visualization", params={"dfId": 999},
                        allow_redirects=False, timeout=30).headers["location"] == "/dataflows"
    page.goto("/dfview")
    page.page.wait_for_selector(f"#dataflows a[href='/dataflows/{path_dataflow.TAG}']")
