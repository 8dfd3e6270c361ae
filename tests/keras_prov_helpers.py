"""Small data, tiny models and store reads shared by the keras_prov tests."""
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_prov as keras  # noqa: E402

_tags = itertools.count(1)


def unique_tag(prefix):
    """A dataflow tag no other test of the session uses (tests share one service per module)."""
    return f"{prefix}_{os.getpid()}_{next(_tags)}"


def digits(samples=96):
    """A slice of scikit-learn's digits: (x, y), x as float32 in [0, 1] with shape (n, 64)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.data[:samples] / 16.0).astype("float32")
    return x, data.target[:samples]


def tiny_model(learning_rate=0.1, momentum=0.0):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dropout(0.1), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(learning_rate, momentum=momentum), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def stored(service, sql):
    """Rows of `sql` once everything recorded so far (records and trained models) is stored."""
    import requests

    assert keras.flush(60), "provenance was not stored within 60 s"
    response = requests.post(service.url + "/api/v1/query", json={"sql": sql, "limit": 100000}, timeout=30)
    assert response.ok, f"{sql}\n-> HTTP {response.status_code}: {response.text}"
    return response.json()["rows"]


def training_status(service, dataflow_tag):
    return stored(service, "SELECT t.identifier, t.status, t.error_msg FROM task t "
                           "JOIN data_transformation dt ON t.dt_id = dt.id JOIN dataflow d ON t.df_id = d.id "
                           f"WHERE d.tag = '{dataflow_tag}' AND dt.tag = 'trainingmodel' ORDER BY t.id")


def close(a, b, tolerance=1e-6):
    return a is not None and b is not None and abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))


def seeded():
    keras.utils.set_random_seed(1)
    return np.random.default_rng(1)
