"""Issue 9, items 9 and 10: client and CLI messages are one line per problem, numbers print as values,
a typo'd dataflow is named with the known ones, files follow the user's umask."""
import logging
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import dfa_lib_python
from dfa_lib_python.dataflow import Dataflow
from processes import dfanalyzer
from service_process import free_port
from test_service_ingestion import SPEC, post, task

PAGE = ("<html><head><title>502 Bad Gateway</title></head><body>" + "<p>nginx says no</p>" * 500
        + "</body></html>").encode()


@pytest.fixture
def html_server():
    """Another web server on the address: it answers every request with a long HTML error page."""

    class Handler(BaseHTTPRequestHandler):
        def _page(self):
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        do_GET = do_POST = _page

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_malformed_dfa_url_is_one_line_while_training_goes_on(tmp_path):
    env = dict(os.environ, DFA_URL="htp://localhost:22000", DFA_SPOOL_DIR=str(tmp_path / "spool"),
               PYTHONPATH=os.path.dirname(__file__), TF_CPP_MIN_LOG_LEVEL="2")
    script = ("from keras_prov_helpers import digits, tiny_model\nx, y = digits(32)\nmodel = tiny_model()\n"
              "model.provenance(dataflow_tag='bad_url')\nhistory = model.fit(x, y, epochs=2, verbose=0)\n"
              "model.evaluate(x, y, verbose=0)\nprint('epochs', len(history.history['loss']))\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "epochs 2" in run.stdout, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if "keras_prov" in line or "DFA_URL" in line or "Traceback" in line]
    assert len(lines) == 1 and "htp://localhost:22000" in lines[0] and "e.g. DFA_URL=http" in lines[0], run.stderr
    cli = dfanalyzer("runs", "--url", "htp://localhost:22000")
    assert cli.returncode == 1 and len(cli.stderr.strip().splitlines()) == 1 and "http://host:port" in cli.stderr


def test_another_servers_html_page_is_summed_up_not_printed(html_server, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="dfa_lib_python")
    dfa_lib_python.connect(html_server, spool_dir=str(tmp_path / "spool"))
    try:
        Dataflow("html_page", hyperparameters=True).save()
        assert dfa_lib_python.flush(timeout=3) is False
    finally:
        dfa_lib_python.close(timeout=1)
    warnings = [record.getMessage() for record in caplog.records if record.name == "dfa_lib_python"]
    assert warnings and all("nginx says no" not in message for message in warnings)
    assert any("502 Bad Gateway" in message and len(message) < 600 for message in warnings), warnings
    cli = dfanalyzer("runs", "--url", html_server)
    assert cli.returncode == 1 and len(cli.stderr.strip().splitlines()) == 1
    assert "502 Bad Gateway" in cli.stderr and "nginx says no" not in cli.stderr


def test_query_prints_values_and_names_unnamed_columns(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    output = dfanalyzer("query", "--url", shared_dfa_service.url,
                        "SELECT count(*), CAST(437794657 AS DOUBLE) AS big, CAST(0.0001 AS DOUBLE) AS small FROM dataflow")
    assert output.returncode == 0, output.stderr
    header, _, row = output.stdout.splitlines()[:3]
    assert [cell.strip() for cell in header.split("|")] == ["count(*)", "big", "small"]
    assert [cell.strip() for cell in row.split("|")][1:] == ["437794657", "0.0001"]


def test_runs_of_an_unknown_dataflow_names_the_known_ones(shared_dfa_service):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    output = dfanalyzer("runs", "--url", shared_dfa_service.url, "--dataflow", "mnsit")
    assert output.returncode == 1
    assert "'mnsit' is unknown" in output.stderr and "mnist" in output.stderr.split("known dataflows:")[1]
    assert requests.get(shared_dfa_service.url + "/api/v1/runs?dataflow=mnsit", timeout=30).status_code == 404


def test_written_files_follow_the_umask(shared_dfa_service, tmp_path):
    post(shared_dfa_service, "/pde/dataflow/json", SPEC)
    assert post(shared_dfa_service, "/pde/task/json", task("u1", "TrainingModel", "FINISHED", exec_tag="umask")).ok
    assert post(shared_dfa_service, "/api/v1/ingest", {"messages": []}).ok
    url = shared_dfa_service.url
    response = requests.post(url + "/api/v1/models", params={"dataflow": "mnist", "exec": "umask", "task": "u1",
                                                             "format": "keras", "file_name": "umask.keras"},
                             data=b"model bytes", headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert response.status_code == 201, response.text
    outputs = {"run.provn": ("export", "umask", "-o"), "run.svg": ("graph", "umask", "-o"),
               "model.keras": ("model", "get", str(response.json()["id"]), "-o")}
    old_mask = os.umask(0o027)
    try:
        for name, command in outputs.items():
            result = dfanalyzer(*command, str(tmp_path / name), "--url", url)
            assert result.returncode == 0, result.stderr
    finally:
        os.umask(old_mask)
    for name in outputs:
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640, name
