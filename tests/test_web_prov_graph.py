"""The interactive PROV graph of a run in real Chromium: as many nodes as the exported PROV
document's records it shows, attributes on click, a set's records collapsed and expanded, search."""
import pytest
import requests

from prov_sample import post_sample_run
from web_browser import browser, page  # noqa: F401 (fixtures)

ELEMENTS = ("entity", "activity", "agent")


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    post_sample_run(shared_dfa_service.url, "graph-small", epochs=4, adaptations=2)
    post_sample_run(shared_dfa_service.url, "graph-long", epochs=40, adaptations=3)
    return shared_dfa_service


def prov_records(service, execution):
    document = requests.get(f"{service.url}/api/v1/executions/{execution}/prov", params={"format": "json"}, timeout=60).json()
    return {kind: set(document.get(kind, {})) for kind in ELEMENTS}


def drawn(page):
    """{kind: node ids} of the records drawn, and the collapsed groups with their member counts."""
    return page.page.evaluate("""() => {
        const {cy, collapsed, groups} = window.dfaProvGraph, kinds = {};
        cy.nodes('[?record]').forEach(n => { (kinds[n.data('kind')] = kinds[n.data('kind')] || []).push(n.id()); });
        return [kinds, [...collapsed].map(g => groups.get(g).length), cy.nodes().length];
    }""")


def click_node(page, node_id):
    x, y = page.page.evaluate("""id => {
        const node = window.dfaProvGraph.cy.$id(id), box = document.getElementById('prov-graph').getBoundingClientRect();
        const at = node.renderedPosition();
        return [box.left + at.x, box.top + at.y];
    }""", node_id)
    page.page.mouse.click(x, y)


def test_every_record_of_a_small_run_is_one_node(page, service):
    records = prov_records(service, "graph-small")
    page.goto("/runs/graph-small/graph")
    page.page.wait_for_selector("body[data-ready]")
    kinds, collapsed, total = drawn(page)
    assert collapsed == []
    assert {kind: set(kinds.get(kind, [])) for kind in ELEMENTS} == records
    assert total == sum(len(ids) for ids in records.values())

    epoch_row = next(i for i in records["entity"] if "oTrainingModel" in i)
    click_node(page, epoch_row)
    page.page.wait_for_selector("#prov-details table.kv")
    assert "kprov:loss" in page.page.text_content("#prov-details")
    page.page.click("#prov-details [data-collapse]")
    page.page.wait_for_function("document.getElementById('prov-meta').dataset.groups === '1'")
    kinds, collapsed, total = drawn(page)
    assert collapsed == [4] and len(kinds["entity"]) == len(records["entity"]) - 4
    assert total == sum(len(ids) for ids in records.values()) - 4 + 1

    page.page.fill("#prov-search", "TestingModel")
    page.page.wait_for_function("Number(document.getElementById('prov-meta').dataset.matches) >= 1")
    page.screenshot("run-prov-graph.png")
    assert page.problems == [] and page.warnings == []


def test_a_long_run_starts_with_its_sets_collapsed(page, service):
    records = prov_records(service, "graph-long")
    page.goto("/runs/graph-long/graph")
    page.page.wait_for_selector("body[data-ready]")
    kinds, collapsed, total = drawn(page)
    shown = sum(len(ids) for ids in kinds.values())
    assert 40 in collapsed
    assert shown + sum(collapsed) == sum(len(ids) for ids in records.values())
    assert total == shown + len(collapsed)
    page.page.click("#prov-expand-all")
    page.page.wait_for_function("document.getElementById('prov-meta').dataset.groups === '0'")
    kinds, collapsed, _ = drawn(page)
    assert {kind: set(kinds.get(kind, [])) for kind in ELEMENTS} == records
    assert page.problems == [] and page.warnings == []


def test_the_run_page_draws_the_interactive_graph_when_scrolled_to(page, service):
    records = prov_records(service, "graph-small")
    page.goto("/runs/graph-small")
    page.page.wait_for_selector("#run-status:not(:empty)")
    page.page.locator("#prov-graph-section").scroll_into_view_if_needed()
    page.page.wait_for_selector("#prov-graph-section[data-ready]")
    kinds, collapsed, _ = drawn(page)
    assert collapsed == [] and {kind: set(kinds.get(kind, [])) for kind in ELEMENTS} == records
    assert page.problems == [] and page.warnings == []
