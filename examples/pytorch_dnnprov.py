"""A plain PyTorch training loop instrumented with dfa-lib-python directly, as DNNProv does:
no Keras, the same dataflow shape (TrainingModel with iTrainingModel / oTrainingModel, TestingModel
with oTestingModel), queryable in DfAnalyzer while it trains. `keras_prov.start_run` records such a loop with the
full Keras-Prov sets in a few lines (docs/keras_prov.md, tests/test_manual_run.py).

    pip install torch==2.13.0
    DFA_URL=http://127.0.0.1:22000 python examples/pytorch_dnnprov.py
"""
import argparse
import datetime
import os
import time

import dfa_lib_python
import requests
import torch
from dfa_lib_python.attribute import Attribute
from dfa_lib_python.attribute_type import AttributeType
from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.set import Set
from dfa_lib_python.set_type import SetType
from dfa_lib_python.task import Task
from dfa_lib_python.transformation import Transformation
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

DATAFLOW = "pytorch_digits"
NUMERIC, TEXT = AttributeType.NUMERIC, AttributeType.TEXT


def describe_dataflow():
    """The dataflow, declared once; `Dataflow.save()` only queues it."""
    dataflow = Dataflow(DATAFLOW)
    dataflow.add_agent("software", "torch", version=torch.__version__)
    training = Transformation("TrainingModel")
    trained = Set("oTrainingModel", SetType.OUTPUT, [Attribute(name, NUMERIC) for name in
                                                     ("epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                                      "elapsed_time")] + [Attribute("timestamp", TEXT)])
    training.set_sets([
        Set("iTrainingModel", SetType.INPUT, [Attribute("optimizer_name", TEXT), Attribute("learning_rate", NUMERIC),
                                              Attribute("momentum", NUMERIC), Attribute("epochs", NUMERIC),
                                              Attribute("batch_size", NUMERIC), Attribute("hidden_units", NUMERIC)]),
        trained,
    ])
    dataflow.add_transformation(training)
    testing = Transformation("TestingModel")
    testing.set_sets([Set("oTestingModel", SetType.OUTPUT, [Attribute("loss", NUMERIC), Attribute("accuracy", NUMERIC),
                                                            Attribute("timestamp", TEXT)])])
    dataflow.add_transformation(testing)
    dataflow.save()
    return dataflow


def evaluate(model, x, y):
    with torch.no_grad():
        output = model(x)
        return torch.nn.functional.cross_entropy(output, y).item(), (output.argmax(1) == y).float().mean().item()


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--url", default=os.environ.get("DFA_URL", "http://127.0.0.1:22000"))
    args = parser.parse_args()
    dfa_lib_python.connect(args.url)
    torch.manual_seed(0)

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data / 16.0, digits.target, test_size=0.2,
                                                        random_state=0)
    x_train, x_test = torch.tensor(x_train, dtype=torch.float32), torch.tensor(x_test, dtype=torch.float32)
    y_train, y_test = torch.tensor(y_train), torch.tensor(y_test)
    learning_rate, momentum, batch_size, hidden = 0.05, 0.9, 64, 64
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum)

    dataflow = describe_dataflow()
    training = Task(1, DATAFLOW, dataflow.exec_tag, "TrainingModel")
    training.add_dataset(DataSet("iTrainingModel", [Element(["SGD", learning_rate, momentum, args.epochs,
                                                             batch_size, hidden])]))
    training.begin()
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        model.eval()
        train_loss, train_accuracy = evaluate(model, x_train, y_train)
        val_loss, val_accuracy = evaluate(model, x_test, y_test)
        training.add_dataset(DataSet("oTrainingModel", [Element([epoch, train_loss, train_accuracy, val_loss,
                                                                 val_accuracy, time.perf_counter() - started, now()])]))
        training.save()  # queued: the loop does not wait for DfAnalyzer
        print(f"epoch {epoch}: loss {train_loss:.4f}, accuracy {train_accuracy:.3f}, val_accuracy {val_accuracy:.3f}")
    training.end()

    testing = Task(2, DATAFLOW, dataflow.exec_tag, "TestingModel", dependency=training)
    test_loss, test_accuracy = evaluate(model, x_test, y_test)
    testing.add_dataset(DataSet("oTestingModel", [Element([test_loss, test_accuracy, now()])]))
    testing.begin()
    testing.end()

    if not dfa_lib_python.flush(60):
        raise SystemExit(f"provenance not stored within 60 s; is DfAnalyzer running at {args.url}?")
    sql = (f"SELECT o.epoch, o.loss, o.val_accuracy FROM {DATAFLOW}.otrainingmodel o JOIN task t "
           f"ON t.id = o.trainingmodel_task_id JOIN dataflow_execution e ON e.id = t.exec_id "
           f"WHERE e.tag = '{dataflow.exec_tag}' AND o.epoch <= 4 ORDER BY o.epoch")
    result = requests.post(args.url.rstrip("/") + "/api/v1/query", json={"sql": sql}, timeout=30).json()
    print(f"\nLoss of the first four epochs, from DfAnalyzer:\n  {sql}")
    for row in result["rows"]:
        print("  ", row)


if __name__ == "__main__":
    main()
