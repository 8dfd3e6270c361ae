"""Issue 9, item 3: a service started with a token answers only those who send it (but /health), its
clients send DFA_TOKEN, and it refuses to serve the network without a token."""
import os
import subprocess
import sys

import pytest
import requests

from service_process import ServiceProcess, free_port
from test_service_ingestion import SPEC

TOKEN = "s3cret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def locked_service(tmp_path_factory):
    service = ServiceProcess(tmp_path_factory.mktemp("locked") / "dfa-data", token=TOKEN).start()
    yield service
    service.stop()


def test_every_endpoint_but_health_needs_the_token(locked_service):
    url = locked_service.url
    assert requests.get(url + "/health", timeout=30).ok
    for method, path in (("GET", "/api/v1/dataflows"), ("GET", "/api/v1/models"), ("GET", "/api/v1/models/1/file"),
                         ("POST", "/api/v1/query"), ("POST", "/pde/dataflow/json"), ("POST", "//pde/task/json"),
                         ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/nothing")):
        anonymous = requests.request(method, url + path, json={}, timeout=30)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        assert anonymous.headers["WWW-Authenticate"] == "Bearer" and "token" in anonymous.json()["detail"]
        wrong = requests.request(method, url + path, json={}, timeout=30, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"]
    assert requests.post(url + "/pde/dataflow/json", json=SPEC, headers=BEARER, timeout=30).ok
    assert locked_service.query("SELECT tag FROM dataflow") == [["mnist"]]


def test_a_browser_passes_the_token_once_and_keeps_a_cookie(locked_service):
    browser = requests.Session()
    first = browser.get(locked_service.url + "/api/v1/dataflows?token=" + TOKEN + "&x=1", allow_redirects=False,
                        timeout=30)
    assert first.status_code == 303 and first.headers["Location"] == "/api/v1/dataflows?x=1"
    assert "HttpOnly" in first.headers["Set-Cookie"] and "SameSite=strict" in first.headers["Set-Cookie"]
    assert browser.get(locked_service.url + "/api/v1/dataflows", timeout=30).status_code == 200
    assert requests.get(locked_service.url + "/api/v1/dataflows?token=wrong", timeout=30).status_code == 401


def test_the_capture_library_keras_prov_and_the_cli_send_dfa_token(locked_service, tmp_path):
    env = dict(os.environ, DFA_URL=locked_service.url, DFA_SPOOL_DIR=str(tmp_path / "spool"), DFA_TOKEN=TOKEN,
               PYTHONPATH=os.path.dirname(__file__), TF_CPP_MIN_LOG_LEVEL="2")
    script = ("from keras_prov_helpers import digits, tiny_model\nimport keras_prov\n"
              "x, y = digits(32)\nmodel = tiny_model()\nmodel.provenance(dataflow_tag='locked_keras', store_weights=True)\n"
              "model.fit(x, y, epochs=1, verbose=0)\nassert keras_prov.flush(60)\n")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    models = requests.get(locked_service.url + "/api/v1/models?dataflow=locked_keras", headers=BEARER, timeout=30)
    assert "keras" in [m["format"] for m in models.json()["models"]]  # keras_prov's upload sent the token

    query = [sys.executable, "-m", "dfanalyzer", "query", "SELECT COUNT(*) FROM locked_keras.otrainingmodel"]
    allowed = subprocess.run(query, env=env, capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0 and allowed.stdout.splitlines()[2].strip() == "1", allowed.stderr
    refused = subprocess.run(query, env={k: v for k, v in env.items() if k != "DFA_TOKEN"}, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1 and "DFA_TOKEN" in refused.stderr


def test_the_network_is_served_only_with_a_token_or_on_purpose(tmp_path):
    command = [sys.executable, "-m", "dfanalyzer", "start", "--foreground", "--host", "0.0.0.0",
               "--port", str(free_port()), "--data-dir", str(tmp_path / "data")]
    env = {k: v for k, v in os.environ.items() if k != "DFA_TOKEN"}
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "--token" in refused.stderr and "--insecure" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_cors_headers_only_for_configured_origins(tmp_path, monkeypatch):
    monkeypatch.setenv("DFA_CORS_ORIGINS", "http://app.example")
    service = ServiceProcess(tmp_path / "dfa-data", token=TOKEN).start()
    try:
        def preflight(origin):
            return requests.options(service.url + "/api/v1/query", timeout=30, headers={
                "Origin": origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type"})

        allowed = preflight("http://app.example")
        assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == "http://app.example"
        other = preflight("http://evil.example")
        assert other.headers.get("Access-Control-Allow-Origin") is None
        answer = requests.post(service.url + "/api/v1/query", json={"sql": "SELECT 1"}, timeout=30,
                               headers={**BEARER, "Origin": "http://app.example"})
        assert answer.ok and answer.headers["Access-Control-Allow-Origin"] == "http://app.example"
    finally:
        service.stop()
