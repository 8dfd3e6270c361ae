"""A Keras model trained by hand with tf.GradientTape, recorded with `keras_prov.start_run`:
the run has its hyperparameters, one row per epoch, a learning-rate change, a test row and the
trained model, exactly as a `fit` would give, and shows in the web app like any run.

    DFA_URL=http://127.0.0.1:22000 python examples/manual_loop_gradienttape.py --epochs 4
"""
import argparse
import os
import time

import numpy as np
import requests
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras_prov as keras

DATAFLOW = "digits_tape"


def batches(x, y, batch_size, rng):
    order = rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        chosen = order[start:start + batch_size]
        yield x[chosen], y[chosen]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--url", default=os.environ.get("DFA_URL", "http://127.0.0.1:22000"))
    args = parser.parse_args()

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split((digits.data / 16.0).astype("float32"), digits.target,
                                                        test_size=0.2, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.2, random_state=0)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch_size, learning_rate = 64, 0.1

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9)
    loss_function = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    accuracy = keras.metrics.SparseCategoricalAccuracy()

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_function(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    def evaluate(x, y):
        logits = model(x, training=False)
        accuracy.reset_state()
        accuracy.update_state(y, logits)
        return float(loss_function(y, logits)), float(accuracy.result())

    hyperparameters = {"optimizer": "SGD", "learning_rate": learning_rate, "momentum": 0.9,
                       "batch_size": batch_size, "epochs": args.epochs, "loop": "GradientTape"}
    with keras.start_run(DATAFLOW, hyperparameters=hyperparameters, model=model, url=args.url) as run:
        for epoch in range(1, args.epochs + 1):
            if epoch == args.epochs // 2 + 1:
                optimizer.learning_rate.assign(learning_rate / 10)
                run.log_learning_rate(learning_rate / 10, cause="step decay")  # an Adaptation row
            started = time.perf_counter()
            losses = [train_step(x, y) for x, y in batches(x_train, y_train, batch_size, rng)]
            val_loss, val_accuracy = evaluate(x_val, y_val)
            # Tensors are fine: they become numbers on keras_prov's thread, not on this one.
            run.log_epoch(epoch, loss=tf.reduce_mean(losses), val_loss=val_loss, val_accuracy=val_accuracy)
            print(f"epoch {epoch}: val_loss {val_loss:.4f} val_accuracy {val_accuracy:.3f} "
                  f"({time.perf_counter() - started:.2f} s)")
        test_loss, test_accuracy = evaluate(x_test, y_test)
        run.log_test(loss=test_loss, accuracy=test_accuracy)
    # Leaving the block ended the run and stored `model` (model.keras) in DfAnalyzer's model store.

    if not keras.flush(60):
        raise SystemExit(f"provenance not stored within 60 s; is DfAnalyzer running at {args.url}?")
    sql = (f"SELECT o.epoch, o.learning_rate, o.loss, o.val_accuracy FROM {DATAFLOW}.otrainingmodel o "
           f"JOIN task t ON t.id = o.trainingmodel_task_id JOIN dataflow_execution e ON e.id = t.exec_id "
           f"WHERE e.tag = '{run.exec_tag}' ORDER BY o.epoch")
    rows = requests.post(args.url.rstrip("/") + "/api/v1/query", json={"sql": sql}, timeout=30).json()["rows"]
    print(f"\nThe run {run.exec_tag} as DfAnalyzer stored it:\n  {sql}")
    for row in rows:
        print("  ", row)
    print(f"Its page: {args.url.rstrip('/')}/runs/{run.exec_tag}")


if __name__ == "__main__":
    main()
