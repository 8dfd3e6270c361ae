"""A DenseED-like encoder / dense block / decoder with the user's own transformation (DenseBlock,
growth rate K and number of layers L), and the Keras-Prov paper's two analyses run in SQL while
the model trains:

  1. "What is the loss now for the model whose dense block has K=24 and L=4?"
  2. "What was the loss of each of the first four epochs?"

The network denoises scikit-learn's 8x8 digits (image to image, as DenseED maps fields to fields).

    DFA_URL=http://127.0.0.1:22000 python examples/denseed_custom_transformation.py
"""
import argparse
import os
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import requests  # noqa: E402
from dfa_lib_python.attribute import Attribute  # noqa: E402
from dfa_lib_python.attribute_type import AttributeType  # noqa: E402
from dfa_lib_python.dataset import DataSet  # noqa: E402
from dfa_lib_python.element import Element  # noqa: E402
from dfa_lib_python.set import Set  # noqa: E402
from dfa_lib_python.set_type import SetType  # noqa: E402
from dfa_lib_python.task import Task  # noqa: E402
from dfa_lib_python.transformation import Transformation  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import keras_prov as keras  # noqa: E402

DATAFLOW = "denseed"
BLOCKS = [("encoder_block", 24, 4), ("decoder_block", 16, 2)]  # (name, K, L)


def dense_block(x, name, growth_rate, layers):
    """L convolutions, each seeing the concatenation of all earlier feature maps and adding K."""
    for index in range(layers):
        new = keras.layers.BatchNormalization(name=f"{name}_bn{index}")(x)
        new = keras.layers.Conv2D(growth_rate, 3, padding="same", activation="relu", name=f"{name}_conv{index}")(new)
        x = keras.layers.Concatenate(name=f"{name}_concat{index}")([x, new])
    return x


def build_model():
    inputs = keras.Input((8, 8, 1), name="noisy")
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(inputs)
    x = dense_block(x, *BLOCKS[0])
    x = keras.layers.Conv2D(32, 1, strides=2, activation="relu", name="encoding")(x)        # 8x8 -> 4x4
    x = dense_block(x, *BLOCKS[1])
    x = keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu", name="decoding")(x)
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="clean")(x)
    return keras.Model(inputs, outputs, name="denseed")


def add_dense_block_transformation(dataflow):
    """The user's own step of the dataflow: one task per dense block, with K and L."""
    block = Transformation("DenseBlock")
    block.set_sets([
        Set("iDenseBlock", SetType.INPUT, [Attribute("block_name", AttributeType.TEXT),
                                           Attribute("k", AttributeType.NUMERIC),
                                           Attribute("l", AttributeType.NUMERIC)]),
        Set("oDenseBlock", SetType.OUTPUT, [Attribute("block_name", AttributeType.TEXT),
                                            Attribute("output_channels", AttributeType.NUMERIC),
                                            Attribute("parameters", AttributeType.NUMERIC)]),
    ])
    dataflow.add_transformation(block)


class DenseBlockTasks(keras.callbacks.Callback):
    """Records a DenseBlock task per block, depending on the running training task."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch != 0:
            return
        training = self.model.get_training_task()
        for number, (name, growth_rate, layers) in enumerate(BLOCKS, start=1):
            task = Task(number, DATAFLOW, self.model.get_exec_tag(), "DenseBlock", dependency=training)
            task.add_dataset(DataSet("iDenseBlock", [Element([name, growth_rate, layers])]))
            task.begin()
            block_layers = [layer for layer in self.model.layers if layer.name.startswith(name)]
            channels = self.model.get_layer(f"{name}_concat{layers - 1}").output.shape[-1]
            parameters = sum(layer.count_params() for layer in block_layers)
            task.add_dataset(DataSet("oDenseBlock", [Element([name, channels, parameters])]))
            task.end()


class Analyses(keras.callbacks.Callback):
    """Runs the paper's two queries while training goes on: from a thread, so training never waits."""

    def __init__(self, url, every=2):
        super().__init__()
        self.url = url.rstrip("/")
        self.every = every
        self.threads = []

    def on_epoch_begin(self, epoch, logs=None):
        # At the start of an epoch every earlier epoch has been handed to keras_prov (whose own
        # callback runs after this one at an epoch's end).
        if epoch and epoch % self.every == 0:
            training_task = self.model.get_training_task().id
            thread = threading.Thread(target=self.run, args=(epoch, self.model.get_exec_tag(), training_task))
            thread.start()
            self.threads.append(thread)

    def run(self, epoch, exec_tag, training_task):
        keras.flush(10)  # from this thread: the records of the epochs so far reach DfAnalyzer
        in_this_run = (f"JOIN task t ON t.id = o.trainingmodel_task_id JOIN dataflow_execution e ON e.id = t.exec_id "
                       f"WHERE e.tag = '{exec_tag}' AND t.identifier = '{training_task}'")
        loss_now = (f"SELECT b.k, b.l, o.epoch, o.loss, o.val_loss FROM {DATAFLOW}.otrainingmodel o "
                    f"JOIN task_dependency d ON d.depends_on_task_id = o.trainingmodel_task_id "
                    f"JOIN {DATAFLOW}.idenseblock b ON b.denseblock_task_id = d.task_id "
                    f"{in_this_run} AND b.k = 24 AND b.l = 4 ORDER BY o.epoch DESC LIMIT 1")
        first_four = (f"SELECT o.epoch, o.loss, o.val_loss FROM {DATAFLOW}.otrainingmodel o {in_this_run} "
                      f"AND o.epoch <= 4 ORDER BY o.epoch")
        from dfanalyzer.cli.query import format_table

        lines = [f"\n---- analyses after epoch {epoch} (training continues) ----"]
        for title, sql in (("1. the loss now for K=24 and L=4", loss_now),
                           ("2. the loss of each of the first four epochs", first_four)):
            result = requests.post(self.url + "/api/v1/query", json={"sql": sql}, timeout=30).json()
            lines += [f"{title}:", f"   {sql}", format_table(result["columns"], result["rows"]), ""]
        print("\n".join(lines), flush=True)


def noisy_digits(seed=0):
    images = (load_digits().images / 16.0).astype("float32")[..., np.newaxis]
    rng = np.random.default_rng(seed)
    noisy = np.clip(images + rng.normal(0, 0.3, images.shape).astype("float32"), 0, 1)
    return noisy, images


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--url", default=os.environ.get("DFA_URL", "http://127.0.0.1:22000"))
    args = parser.parse_args()
    keras.utils.set_random_seed(5)
    noisy, clean = noisy_digits()

    model = build_model()
    model.provenance(dataflow_tag=DATAFLOW, hyperparameters=True, adaptation=True, url=args.url,
                     extra={"noise_std": 0.3, "blocks": len(BLOCKS)})
    add_dense_block_transformation(model.get_dataflow())
    model.compile(keras.optimizers.Adam(2e-3), loss="mse", metrics=["mae"])
    analyses = Analyses(args.url, every=2)
    model.fit(noisy, clean, epochs=args.epochs, batch_size=64, validation_split=0.2, verbose=2,
              callbacks=[DenseBlockTasks(), analyses])
    for thread in analyses.threads:
        thread.join()
    keras.flush(60)
    print(f"Execution {model.get_exec_tag()}: the DenseBlock tasks and the training are in dataflow '{DATAFLOW}' "
          f"(`dfanalyzer query \"SELECT * FROM {DATAFLOW}.idenseblock\"`).")


if __name__ == "__main__":
    main()
