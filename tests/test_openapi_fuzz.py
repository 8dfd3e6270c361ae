"""Issues 9 (item 8) and 23 (item 6): the OpenAPI document tells the truth. Schemathesis runs as
users run it, `schemathesis run URL --checks all`, from the repository root (which holds its
schemathesis.toml), against the real service: every check (5xx, undocumented statuses, content
types, bodies and headers, schema-valid requests refused, schema-invalid ones accepted, Allow on
405, the stateful phase's links) must pass.

Bounded for CI: EXAMPLES generated requests per operation and phase, deterministic; about 45 s.
"""
import os
import subprocess
import sys

import requests

from test_service_ingestion import SPEC, post, task

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = 10


def test_the_service_answers_as_its_openapi_document_says(shared_dfa_service, tmp_path):
    service = shared_dfa_service
    post(service, "/pde/dataflow/json", SPEC)
    post(service, "/pde/task/json", task("1", "TrainingModel", "FINISHED", [("oTrainingModel", [[1, 0.5, 0.9]])]))
    uploaded = requests.post(service.url + "/api/v1/models", data=b"model", timeout=30,
                             headers={"Content-Type": "application/octet-stream"},
                             params={"dataflow": "mnist", "exec": "run-1", "task": "1", "file_name": "m.keras",
                                     "format": "keras"})
    assert uploaded.status_code == 201, uploaded.text
    command = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "run",
               service.url + "/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES),
               "--generation-deterministic", "--request-timeout", "60", "--no-color",
               "--report", "junit", "--report-dir", str(tmp_path)]
    run = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
    summary = run.stdout[run.stdout.find("=== FAILURES"):] if "=== FAILURES" in run.stdout else run.stdout[-3000:]
    assert run.returncode == 0, f"schemathesis found failures:\n{summary}\n{run.stderr[-2000:]}"
    assert " passed" in run.stdout and "Tested: " in run.stdout, run.stdout[-2000:]
