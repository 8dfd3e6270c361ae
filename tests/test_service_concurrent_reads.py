"""The issue's reproduction: parallel `dfanalyzer runs` loops gave wrong answers and killed the service."""
import threading

import requests

from test_service_ingestion import SPEC, post, task


def test_parallel_run_listings_all_get_the_same_full_answer(dfa_service):
    post(dfa_service, "/pde/dataflow/json", SPEC)
    for run in range(8):
        exec_tag = f"run-{run}"
        epochs = ("oTrainingModel", [[e, 1.0 / (e + 1), e / 10] for e in range(5)])
        assert post(dfa_service, "/pde/task/json", task("1", "TrainingModel", "FINISHED", [epochs], exec_tag=exec_tag)).ok
        dependency = {"tags": [{"tag": "TrainingModel"}], "ids": [{"id": "1"}]}
        assert post(dfa_service, "/pde/task/json", task("1", "TestingModel", "FINISHED", [("oTestingModel", [[0.9]])],
                                                        exec_tag=exec_tag, dependency=dependency)).ok
    expected = requests.get(dfa_service.url + "/api/v1/runs", timeout=60).json()
    answers, errors = [], []

    def list_runs():
        session = requests.Session()
        for _ in range(25):
            try:
                response = session.get(dfa_service.url + "/api/v1/runs", timeout=60)
                answers.append(response.json() if response.ok else response.status_code)
            except requests.RequestException as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=list_runs) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(answers) == 150
    assert all(answer == expected for answer in answers)
    assert len(expected) == 8
    # The final metrics of every FINISHED run are there (they went missing on every 62nd read).
    assert all(run["status"] == "FINISHED" and run["metrics"] for run in expected), expected
