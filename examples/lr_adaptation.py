"""Learning-rate adaptations recorded by keras_prov: a LearningRateScheduler and a
ReduceLROnPlateau, each change stored as an Adaptation task (old and new rate, epoch, cause).

    DFA_URL=http://127.0.0.1:22000 python examples/lr_adaptation.py
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import requests  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import keras_prov as keras  # noqa: E402

DATAFLOW = "lr_adaptation"


def build_model():
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def step_decay(epoch, rate):
    """Halves the rate at the start of the 3rd and 5th epochs (Keras counts epochs from 0)."""
    return rate * 0.5 if epoch in (2, 4) else rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DFA_URL", "http://127.0.0.1:22000"))
    args = parser.parse_args()
    digits = load_digits()
    x, y = (digits.data / 16.0).astype("float32"), digits.target
    keras.utils.set_random_seed(3)

    scheduled = build_model()
    scheduled.provenance(dataflow_tag=DATAFLOW, adaptation=True, url=args.url, extra={"policy": "step_decay"})
    scheduled.fit(x, y, epochs=6, batch_size=64, validation_split=0.2, verbose=0,
                  callbacks=[keras.callbacks.LearningRateScheduler(step_decay)])

    plateau = build_model()
    plateau.provenance(dataflow_tag=DATAFLOW, adaptation=True, url=args.url, extra={"policy": "plateau"})
    # min_delta=0.05: an epoch that improves val_loss by less counts as a plateau.
    plateau.fit(x, y, epochs=8, batch_size=64, validation_split=0.2, verbose=0,
                callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                                             min_delta=0.05, min_lr=1e-3)])
    if not keras.flush(60):
        raise SystemExit("provenance was not stored within 60 s; is DfAnalyzer running at " + args.url + "?")

    sql = (f"SELECT h.policy, a.epoch, a.old_learning_rate, a.new_learning_rate, a.cause "
           f"FROM {DATAFLOW}.oadaptation a "
           f"JOIN task_dependency d ON d.task_id = a.adaptation_task_id "
           f"JOIN {DATAFLOW}.itrainingmodel h ON h.trainingmodel_task_id = d.depends_on_task_id "
           f"JOIN task t ON t.id = a.adaptation_task_id JOIN dataflow_execution e ON e.id = t.exec_id "
           f"WHERE e.tag IN ('{scheduled.get_exec_tag()}', '{plateau.get_exec_tag()}') ORDER BY h.policy DESC, a.epoch")
    result = requests.post(args.url.rstrip("/") + "/api/v1/query", json={"sql": sql}, timeout=30).json()
    from dfanalyzer.cli.query import format_table

    print(f"Adaptations of the two runs:\n  {sql}\n")
    print(format_table(result["columns"], result["rows"]))
    epochs = requests.post(args.url.rstrip("/") + "/api/v1/query", json={"sql": (
        f"SELECT h.policy, o.epoch, o.learning_rate, o.val_loss FROM {DATAFLOW}.otrainingmodel o "
        f"JOIN {DATAFLOW}.itrainingmodel h ON h.trainingmodel_task_id = o.trainingmodel_task_id "
        f"JOIN task t ON t.id = o.trainingmodel_task_id JOIN dataflow_execution e ON e.id = t.exec_id "
        f"WHERE e.tag IN ('{scheduled.get_exec_tag()}', '{plateau.get_exec_tag()}') ORDER BY h.policy DESC, o.epoch")},
        timeout=30).json()
    print("\nThe rate each epoch trained with:\n")
    print(format_table(epochs["columns"], epochs["rows"]))


if __name__ == "__main__":
    main()
