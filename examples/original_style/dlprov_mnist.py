"""A DLProv-style pipeline: `from tensorflow.keras ...` imports, dfa_lib_python's predefined DLProv
dataflow (`Dataflow(tag, predefined=True)`: LoadData, SplitData, Train, Test), one task per step,
the epochs recorded by a callback, the trained model saved and named in oTrainedModel.

It runs unchanged on Keras-Prov. The original downloaded MNIST (28x28 grey digits, 10 classes);
`load_data` generates images of that shape instead, since nothing is downloaded here.

    DFA_URL=http://127.0.0.1:22000 python examples/original_style/dlprov_mnist.py
"""
import os
import tempfile
import time
from datetime import datetime

import numpy as np
from tensorflow.keras import layers, models
from tensorflow.keras.callbacks import Callback
from tensorflow.keras.models import load_model
from tensorflow.keras.optimizers import Adam

from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.task import Task

WORK_DIR = os.environ.get("DLPROV_WORK_DIR") or tempfile.mkdtemp(prefix="dlprov-mnist-")


def load_data(t1, samples=400):
    """MNIST-shaped digits: uint8 images of 28x28 and their labels (generated)."""
    t1.add_dataset(DataSet("iInputDataset", [Element(["mnist", "generated, 28x28 uint8"])]))
    t1.begin()
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (samples, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, samples)
    t1.add_dataset(DataSet("oLoadData", [Element([WORK_DIR])]))
    t1.end()
    return images / 255.0, labels


def split_data(t2, images, labels):
    t2.add_dataset(DataSet("iSplitConfig", [Element([0.7, 0.1, 0.2])]))
    t2.begin()
    train, val = int(len(images) * 0.7), int(len(images) * 0.8)
    parts = {"train": slice(0, train), "val": slice(train, val), "test": slice(val, None)}
    paths = {}
    for name, part in parts.items():
        paths[name] = (os.path.join(WORK_DIR, f"x_{name}.npy"), os.path.join(WORK_DIR, f"y_{name}.npy"))
        np.save(paths[name][0], images[part])
        np.save(paths[name][1], labels[part])
    t2.add_dataset(DataSet("oTrainSet", [Element(list(paths["train"]))]))
    t2.add_dataset(DataSet("oValSet", [Element(list(paths["val"]))]))
    t2.add_dataset(DataSet("oTestSet", [Element(list(paths["test"]))]))
    t2.end()
    return {name: (np.load(x), np.load(y)) for name, (x, y) in paths.items()}


class EpochProvenance(Callback):
    def __init__(self, task):
        super().__init__()
        self.task = task
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.task.add_dataset(DataSet("oTrain", [Element([
            datetime.now().strftime("%Y-%m-%d %H:%M:%S"), time.time() - self.started, logs["loss"], logs["accuracy"],
            logs["val_loss"], logs["val_accuracy"], epoch])]))
        self.task.save()


def train_model(t3, data, epochs=2, batch_size=32):
    model = models.Sequential([
        layers.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ])
    opt = Adam(learning_rate=0.001)
    t3.add_dataset(DataSet("iTrain", [Element([opt.get_config()["name"], opt.get_config()["learning_rate"], epochs,
                                               batch_size, len(model.layers)])]))
    t3.begin()
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(*data["train"], validation_data=data["val"], epochs=epochs, batch_size=batch_size, verbose=2,
              callbacks=[EpochProvenance(t3)])
    model_path = os.path.join(WORK_DIR, "mnist-trained.keras")
    weights_path = os.path.join(WORK_DIR, "mnist-trained.weights.h5")
    model.save(model_path)
    model.save_weights(weights_path)
    t3.add_dataset(DataSet("oTrainedModel", [Element(["mnist_dense", model_path])]))
    t3.add_dataset(DataSet("oWeights", [Element([weights_path])]))
    t3.end()
    return model_path


def evaluate_model(t4, data, model_path):
    t4.begin()
    loss, accuracy = load_model(model_path).evaluate(*data["test"], verbose=0)
    t4.add_dataset(DataSet("oTest", [Element([loss, accuracy])]))
    t4.end()
    return accuracy


def main():
    dataflow_tag = "dlprov_mnist"
    df = Dataflow(dataflow_tag, predefined=True)
    df.save()
    exec_tag = dataflow_tag + "-" + str(datetime.now())
    t1 = Task(1, dataflow_tag, exec_tag, "LoadData")
    t2 = Task(2, dataflow_tag, exec_tag, "SplitData", dependency=t1)
    t3 = Task(3, dataflow_tag, exec_tag, "Train", dependency=t2)
    t4 = Task(4, dataflow_tag, exec_tag, "Test", dependency=[t2, t3])
    data = split_data(t2, *load_data(t1))
    accuracy = evaluate_model(t4, data, train_model(t3, data))
    print(f"test accuracy {accuracy:.4f}; recorded as {dataflow_tag} / {exec_tag}")


if __name__ == "__main__":
    main()
