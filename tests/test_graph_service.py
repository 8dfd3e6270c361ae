"""Graph images through the service and the CLI: valid files, the expected nodes and edges, folding."""
import os
import re
import struct
import subprocess
import sys

import pytest
import requests
from lxml import etree

from prov_sample import DATAFLOW, post_sample_run

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def service(shared_dfa_service):
    post_sample_run(shared_dfa_service.url, "small", epochs=4, adaptations=2)
    post_sample_run(shared_dfa_service.url, "long", epochs=500, adaptations=30)
    return shared_dfa_service


def fetch(service, path, **params):
    response = requests.get(service.url + path, params=params, timeout=120)
    assert response.status_code == 200, response.text
    return response


def dot_parts(dot):
    """(labels of nodes, labels of edges) in DOT text from the service."""
    nodes = re.findall(r"^\s*(n\d+)\s+\[", dot, re.MULTILINE)
    edges = re.findall(r"^\s*n\d+ -> n\d+\s+\[[^\]]*?label=\"?([^\",\]]+)", dot, re.MULTILINE | re.DOTALL)
    return nodes, edges


def assert_valid_image(content, image_format):
    if image_format == "svg":
        root = etree.fromstring(content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        return root
    assert content.startswith(MAGIC[image_format])
    return None


@pytest.mark.parametrize("image_format", ["png", "svg", "pdf"])
def test_prov_graph_files_are_valid_images(service, image_format):
    response = fetch(service, f"/api/v1/executions/small/graph.{image_format}")
    assert response.headers["content-type"].startswith(f"image/{image_format}" if image_format != "pdf"
                                                       else "application/pdf")
    root = assert_valid_image(response.content, image_format)
    if root is not None:
        # In the SVG, entities are yellow, activities blue and agents orange.
        fills = {element.get("fill") for element in root.iter("{http://www.w3.org/2000/svg}polygon",
                                                               "{http://www.w3.org/2000/svg}ellipse")}
        assert {"#fffc87", "#9fb1fc", "#fed37f"} <= {fill.lower() for fill in fills if fill}


def test_prov_graph_of_a_known_run_has_the_expected_nodes_and_edges(service):
    nodes, edges = dot_parts(fetch(service, "/api/v1/executions/small/graph.dot").text)
    # plan, execution, 4 agents, 4 tasks (training, 2 adaptations, test), 11 rows.
    assert len(nodes) == 1 + 1 + 4 + 4 + 11
    counts = {label: edges.count(label) for label in set(edges)}
    assert counts == {
        "wasAssociatedWith": 4, "hadPlan": 1, "actedOnBehalfOf": 2,
        # each task once: the training task by the execution, the others by the training task
        "wasInformedBy": 4,
        "used": 4,  # hyperparameters, 2 old rates, trained model by the test
        "wasGeneratedBy": 4 + 1 + 2 + 1,
        "wasDerivedFrom": 5,  # model and first rate from hyperparameters, 2 rates from old rates, rate chain
    }


def test_a_long_run_is_folded_into_first_and_last_epochs(service):
    dot = fetch(service, "/api/v1/executions/long/graph.dot").text
    nodes, edges = dot_parts(dot)
    assert "… 494 epochs …" in dot
    assert "(epoch 3 to 496)" in dot
    assert "… 24 Adaptation tasks …" in dot
    assert len(re.findall(r'label="oTrainingModel \d+', dot)) == 6
    assert "wasGeneratedBy ×494" in dot
    assert len(nodes) < 60
    png = fetch(service, "/api/v1/executions/long/graph.png").content
    assert_valid_image(png, "png")


def test_folding_limits_are_parameters(service):
    dot = fetch(service, "/api/v1/executions/small/graph.dot", fold=2, keep=1).text
    assert "… 2 epochs …" in dot
    response = requests.get(f"{service.url}/api/v1/executions/small/graph.dot", params={"fold": 1, "keep": 1},
                            timeout=30)
    assert response.status_code == 422
    assert "limit >= 2 * keep" in response.json()["detail"]


@pytest.mark.parametrize("image_format", ["png", "svg", "pdf"])
def test_specification_graph_shows_transformations_and_sets(service, image_format):
    assert_valid_image(fetch(service, f"/api/v1/dataflows/{DATAFLOW}/graph.{image_format}").content, image_format)


def test_specification_graph_dot(service):
    dot = fetch(service, f"/api/v1/dataflows/{DATAFLOW}/graph.dot").text
    nodes = re.findall(r"^\s*([ts]\d+)\s+\[", dot, re.MULTILINE)
    edges = re.findall(r"^\s*([ts]\d+) -> ([ts]\d+)", dot, re.MULTILINE)
    assert len([node for node in nodes if node.startswith("t")]) == 3
    assert len([node for node in nodes if node.startswith("s")]) == 6
    # Outputs: oTrainingModel, oTrainedModel, iAdaptation (its dependency) of TrainingModel,
    # oAdaptation, oTestingModel; inputs: iTrainingModel, iAdaptation, oTrainedModel.
    assert sorted(edges) == sorted([("t1", "s2"), ("t1", "s3"), ("t1", "s4"), ("t2", "s5"), ("t3", "s6"),
                                    ("s1", "t1"), ("s4", "t2"), ("s3", "t3")])
    assert "new_learning_rate" in dot and "NUMERIC" in dot
    # An execution's spec graph is its dataflow's.
    assert fetch(service, "/api/v1/executions/small/graph.dot", kind="spec").text == dot


def test_graph_errors_name_what_was_wrong(service):
    response = requests.get(f"{service.url}/api/v1/executions/missing-run/graph.png", timeout=30)
    assert response.status_code == 404 and "missing-run" in response.json()["detail"]
    response = requests.get(f"{service.url}/api/v1/dataflows/missing-flow/graph.svg", timeout=30)
    assert response.status_code == 404 and "missing-flow" in response.json()["detail"]
    response = requests.get(f"{service.url}/api/v1/executions/small/graph.gif", timeout=30)
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown image format 'gif'; known formats: png, svg, pdf, dot"
    response = requests.get(f"{service.url}/api/v1/executions/small/graph.png", params={"kind": "tree"}, timeout=30)
    assert response.status_code == 422 and "known kinds: prov, spec" in response.json()["detail"]


def test_cli_graph_writes_the_image_its_extension_names(service, tmp_path):
    environment = dict(os.environ, DFA_URL=service.url)

    def graph(*args):
        return subprocess.run([sys.executable, "-m", "dfanalyzer", "graph", *args], capture_output=True,
                              text=True, env=environment, timeout=120)

    result = graph("long", "-o", str(tmp_path / "long.pdf"))
    assert result.returncode == 0, result.stderr
    assert "provenance graph of execution 'long'" in result.stdout
    assert_valid_image((tmp_path / "long.pdf").read_bytes(), "pdf")
    result = graph(DATAFLOW, "--kind", "spec", "-o", str(tmp_path / "spec.svg"))
    assert result.returncode == 0, result.stderr
    assert_valid_image((tmp_path / "spec.svg").read_bytes(), "svg")
    result = graph("small", "-o", str(tmp_path / "small.jpg"))
    assert result.returncode == 1 and "known formats: png, svg, pdf, dot" in result.stderr
    result = graph("nowhere", "-o", str(tmp_path / "nowhere.png"))
    assert result.returncode == 1 and "no execution or dataflow named 'nowhere'" in result.stderr
    assert not (tmp_path / "nowhere.png").exists()


def test_a_dataflow_with_many_runs_is_one_linked_node_per_run(service):
    for number in range(12):
        post_sample_run(service.url, f"sweep-{number}", epochs=2, adaptations=0)
    dot = fetch(service, f"/api/v1/dataflows/{DATAFLOW}/graph.dot", kind="prov").text
    # 14 runs: small, long and 12 sweeps, each one node linking to its own graph, in rows.
    drawn_runs = re.findall(r'label="(small|long|sweep-\d+)\\n', dot)
    assert drawn_runs == ["small", "long"] + [f"sweep-{n}" for n in range(12)]
    assert len(re.findall(rf'URL="/api/v1/executions/[^"]+/graph.svg\?dataflow={DATAFLOW}"', dot)) == 14
    assert "(plan · 14 executions)" in dot
    svg = fetch(service, f"/api/v1/dataflows/{DATAFLOW}/graph.svg", kind="prov").content
    links = assert_valid_image(svg, "svg").iter("{http://www.w3.org/2000/svg}a")
    assert "/api/v1/executions/sweep-3/graph.svg?dataflow=provsample" in {
        link.get("{http://www.w3.org/1999/xlink}href") for link in links}
    png = fetch(service, f"/api/v1/dataflows/{DATAFLOW}/graph.png", kind="prov").content
    width, height = struct.unpack(">II", png[16:24])
    assert max(width, height) <= 2000, (width, height)
