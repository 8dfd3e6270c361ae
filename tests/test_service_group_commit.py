"""Batches arriving together are committed together; a bad one still gets its own 422 and the
others are stored (group commit, dfanalyzer.ingest.shared_database)."""
import threading

import pytest
import requests

from cluster_clients import SET_TAG, specification, task_message

pytestmark = pytest.mark.both_backends


def test_concurrent_batches_are_all_stored_and_only_the_bad_one_is_refused(dfa_service):
    spec = {"messages": [{"id": "spec", "kind": "dataflow", "body": specification("grouped")}]}
    assert requests.post(dfa_service.url + "/api/v1/ingest", json=spec, timeout=60).ok
    clients, rounds = 8, 15
    answers = {}

    def send(client):
        session = requests.Session()
        for number in range(rounds):
            body = task_message("grouped", client, number, 1)
            if client == 3 and number == 7:
                body = dict(body, dataflow="unknown")  # refused: its dataflow was never specified
            batch = {"messages": [{"id": f"{client}-{number}", "kind": "task", "body": body}]}
            answer = session.post(dfa_service.url + "/api/v1/ingest", json=batch, timeout=120)
            answers[(client, number)] = (answer.status_code, answer.json())

    threads = [threading.Thread(target=send, args=(client,)) for client in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = {key: answer for key, answer in answers.items() if answer[0] != 200}
    assert list(refused) == [(3, 7)]
    assert refused[(3, 7)][0] == 422 and refused[(3, 7)][1]["detail"]["message_id"] == "3-7"
    assert all(answer[1]["acknowledged"] == [f"{c}-{n}"] for (c, n), answer in answers.items() if (c, n) != (3, 7))
    stored = dfa_service.query(f"SELECT client, epoch FROM grouped.{SET_TAG.lower()} ORDER BY client, epoch")
    assert stored == [[float(c), float(n)] for c in range(clients) for n in range(rounds) if (c, n) != (3, 7)]
