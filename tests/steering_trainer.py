"""A training script for the steering tests, run in a fresh interpreter:

    python steering_trainer.py DATAFLOW EXEC EPOCHS SECONDS_PER_EPOCH [plain|schedule|plateau]

Fits a tiny model on scikit-learn's digits, each epoch slowed to SECONDS_PER_EPOCH by a callback so
that a test can steer it, then evaluates it, and prints one JSON line: the epochs fit ran and the
learning rate the optimizer ended with.
"""
import json
import sys
import time

from keras_prov_helpers import digits, seeded

import keras_prov as keras


class Slow(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


def main(dataflow, execution, epochs, seconds, variant="plain"):
    seeded()
    x, y = digits(64)
    rate = 0.05
    if variant == "schedule":
        rate = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.9)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.SGD(rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.provenance(dataflow_tag=dataflow, exec_tag=execution)
    callbacks = [Slow(seconds)]
    if variant == "plateau":
        # patience 0 and a huge min_delta: the rate is halved after every epoch
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0,
                                                           min_lr=1e-9))
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=callbacks)
    model.evaluate(x, y, verbose=0)
    keras.flush(60)
    print(json.dumps({"epochs": len(history.history["loss"]),
                      "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:])
