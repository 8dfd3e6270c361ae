"""An AlexNet-style CNN on scikit-learn's digits, recording its own provenance with keras_prov.

Start DfAnalyzer first (`dfanalyzer start`, or DfAnalyzer/start-dfanalyzer.sh), then:

    DFA_URL=http://127.0.0.1:22000 python examples/alexnet_kerasprov.py

The only change from a plain Keras script is the import (`import keras_prov as keras`) and the
`model.provenance(...)` call. At the end the script prints what DfAnalyzer stored, queried with
SQL, and where the provenance and the trained model are.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import requests  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import keras_prov as keras  # noqa: E402

DATAFLOW = "alexnet"


def load_data(seed=0):
    """scikit-learn's 8x8 digits as (x_train, x_test, y_train, y_test), images in [0, 1]."""
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    return train_test_split(images, digits.target, test_size=0.2, random_state=seed, stratify=digits.target)


def build_model(model_class=None):
    """AlexNet's shape (five convolutions, three pools, two dropout-regularised dense layers),
    scaled to 8x8 digits upsampled to 32x32."""
    model_class = model_class or keras.Sequential
    return model_class([
        keras.Input((8, 8, 1)),
        keras.layers.UpSampling2D(4),
        keras.layers.Conv2D(24, 5, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.BatchNormalization(),
        keras.layers.Conv2D(48, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.BatchNormalization(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(48, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ], name="alexnet")


def compile_model(model, learning_rate=0.03):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--url", default=os.environ.get("DFA_URL", "http://127.0.0.1:22000"),
                        help="DfAnalyzer address (default: $DFA_URL or http://127.0.0.1:22000)")
    parser.add_argument("--output", help="folder to download the stored trained model into (optional)")
    args = parser.parse_args()

    keras.utils.set_random_seed(1)
    x_train, x_test, y_train, y_test = load_data()
    model = build_model()
    model.provenance(dataflow_tag=DATAFLOW, hyperparameters=True, adaptation=True, url=args.url,
                     extra={"dataset": "sklearn-digits", "input_upsampling": 4, "dropout": 0.5})
    compile_model(model)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-4)
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.2, callbacks=[plateau],
              verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\ntest loss {loss:.4f}, test accuracy {accuracy:.4f}")

    if not keras.flush(60):
        print("provenance is still being sent (DfAnalyzer unreachable?); it is kept and sent later")
        return
    report(args.url, model.get_exec_tag(), args.output)


def query(url, sql):
    response = requests.post(url.rstrip("/") + "/api/v1/query", json={"sql": sql, "limit": 1000}, timeout=30)
    response.raise_for_status()
    return response.json()


def show(title, url, sql):
    from dfanalyzer.cli.query import format_table

    result = query(url, sql)
    print(f"\n== {title}\n   {sql}\n")
    print(format_table(result["columns"], result["rows"]))
    if not result["rows"]:
        print("(no rows)")


def report(url, exec_tag, output=None):
    """Prints the stored provenance of this run and where it lives."""
    where = f"trainingmodel_task_id IN (SELECT t.id FROM task t JOIN dataflow_execution e ON t.exec_id = e.id " \
            f"WHERE e.tag = '{exec_tag}')"
    show("Hyperparameters (iTrainingModel)", url,
         f"SELECT optimizer_name, learning_rate, momentum, batch_size, epochs, num_layers, trainable_params, "
         f"dataset, dropout FROM {DATAFLOW}.itrainingmodel WHERE {where}")
    show("Per epoch (oTrainingModel)", url,
         f"SELECT epoch, learning_rate, loss, accuracy, val_loss, val_accuracy, elapsed_time "
         f"FROM {DATAFLOW}.otrainingmodel WHERE {where} ORDER BY epoch")
    show("Learning-rate adaptations (oAdaptation; ReduceLROnPlateau halves the rate when val_loss stalls)", url,
         f"SELECT a.epoch, a.old_learning_rate, a.new_learning_rate, a.cause FROM {DATAFLOW}.oadaptation a "
         f"JOIN task t ON a.adaptation_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id "
         f"WHERE e.tag = '{exec_tag}' ORDER BY a.epoch")
    show("Test (oTestingModel)", url,
         f"SELECT o.loss, o.accuracy, o.elapsed_time FROM {DATAFLOW}.otestingmodel o JOIN task t "
         f"ON o.testingmodel_task_id = t.id JOIN dataflow_execution e ON t.exec_id = e.id WHERE e.tag = '{exec_tag}'")
    show("Agents of the execution", url,
         f"SELECT a.kind, a.name, a.properties FROM agent a JOIN dataflow_execution e ON a.exec_id = e.id "
         f"WHERE e.tag = '{exec_tag}' ORDER BY a.id")
    health = requests.get(url.rstrip("/") + "/health", timeout=10).json()
    models = requests.get(url.rstrip("/") + "/api/v1/models", params={"exec": exec_tag}, timeout=10).json()["models"]
    print(f"\nExecution {exec_tag} of dataflow '{DATAFLOW}'.")
    print(f"Provenance: {health.get('backend')} (SQL: POST {url}/api/v1/query, "
          f"or `dfanalyzer query \"SELECT * FROM {DATAFLOW}.otrainingmodel\"`)")
    for model in models:
        print(f"Trained model ({model['format']}, {model['size_bytes']} bytes, sha256 {model['sha256'][:16]}...): "
              f"models/{model['path']} in the service's models folder\n    download: `dfanalyzer model get {model['id']} -o .`  or  GET {url}{model['url']}")
    if not models:
        print("The trained model is still being uploaded (see `dfanalyzer model list`).")
    keras_files = [model for model in models if model["format"] == "keras"]
    if output and keras_files:
        os.makedirs(output, exist_ok=True)
        target = os.path.join(output, f"{exec_tag}.keras")
        with open(target, "wb") as handle:
            handle.write(requests.get(url.rstrip("/") + keras_files[0]["url"], timeout=60).content)
        print(f"Downloaded the trained model to {target} (keras.saving.load_model reads it).")


if __name__ == "__main__":
    main()
