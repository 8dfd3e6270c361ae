"""A DNNProv-style training script: TensorFlow's Keras (`import tensorflow as tf`), dfa_lib_python's
predefined DNNProv dataflow (`Dataflow(tag, True)`), the tasks written by hand from a Keras 2 style
learning-rate scheduler that reads and sets `model.optimizer.lr` through `K.get_value` /
`K.set_value`.

It runs unchanged on Keras-Prov: the startup hook gives TensorFlow's Keras the Keras 2 names, and
dfa_lib_python records the dataflow it describes. The original loaded 17 classes of 224x224 RGB
flower photos; `load_data` generates images of that shape instead (a small network keeps it quick).

    DFA_URL=http://127.0.0.1:22000 python examples/original_style/dnnprov_flowers.py
"""
import math
import time
from datetime import datetime

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
from tensorflow.keras import backend as K
from tensorflow.keras.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam

from dfa_lib_python.dataflow import Dataflow
from dfa_lib_python.dataset import DataSet
from dfa_lib_python.element import Element
from dfa_lib_python.task import Task

CLASSES = 17


def load_data(samples=60):
    """(x, y): RGB images of 224x224 and their class, as the flowers loader returned them."""
    rng = np.random.default_rng(1000)
    return rng.random((samples, 224, 224, 3), dtype="float32"), rng.integers(0, CLASSES, samples)


dataflow_tag = "dnnprov_flowers"
exec_tag = dataflow_tag + "-" + str(datetime.now())
df = Dataflow(dataflow_tag, True)
df.save()

x, y = load_data()
y = tf.keras.utils.to_categorical(y, CLASSES)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, shuffle=True, random_state=1)

epochs = 2
initial_lrate = 0.002
drop = 0.5
epochs_drop = 2.0


def step_decay(epoch):
    return initial_lrate * math.pow(drop, math.floor((1 + epoch) / epochs_drop))


class StepDecayWithProvenance(tf.keras.callbacks.Callback):
    """Keras 2's LearningRateScheduler, recording each epoch and each change of the rate."""

    def __init__(self, schedule, training, adaptation):
        super().__init__()
        self.schedule, self.training, self.adaptation = schedule, training, adaptation
        self.adaptation_id = 0
        self.started = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()
        if not hasattr(self.model.optimizer, "lr"):
            raise ValueError('Optimizer must have a "lr" attribute.')
        current = float(K.get_value(self.model.optimizer.lr))
        scheduled = self.schedule(epoch)
        if round(current, 6) != round(scheduled, 6):
            self.adaptation_id += 1
            K.set_value(self.model.optimizer.lr, scheduled)
            self.adaptation.add_dataset(DataSet("oAdaptation", [Element(
                [scheduled, datetime.now().strftime("%Y-%m-%d %H:%M:%S"), epoch, self.adaptation_id])]))
            self.adaptation.save()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.training.add_dataset(DataSet("oTrainingModel", [Element([
            datetime.now().strftime("%Y-%m-%d %H:%M:%S"), time.time() - self.started, logs["loss"],
            logs["accuracy"], logs["val_loss"], logs["val_accuracy"], epoch])]))
        self.training.save()


model = Sequential()
model.add(Conv2D(filters=8, input_shape=(224, 224, 3), kernel_size=(11, 11), strides=(4, 4), padding="valid"))
model.add(Activation("relu"))
model.add(MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="valid"))
model.add(BatchNormalization())
model.add(Conv2D(filters=16, kernel_size=(3, 3), strides=(1, 1), padding="valid"))
model.add(Activation("relu"))
model.add(MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="valid"))
model.add(Flatten())
model.add(Dense(32))
model.add(Activation("relu"))
model.add(Dropout(0.4))
model.add(Dense(CLASSES))
model.add(Activation("softmax"))

opt = Adam(learning_rate=initial_lrate)
t1 = Task(1, dataflow_tag, exec_tag, "TrainingModel")
t1.add_dataset(DataSet("iTrainingModel", [Element([opt.get_config()["name"], opt.get_config()["learning_rate"], epochs,
                                                   len(model.layers)])]))
t1.begin()
t2 = Task(2, dataflow_tag, exec_tag, "Adaptation", dependency=t1)
t2.add_dataset(DataSet("iAdaptation", [Element([epochs_drop, drop, initial_lrate])]))
t2.begin()

model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=2, validation_split=0.2, shuffle=True,
          callbacks=[StepDecayWithProvenance(step_decay, t1, t2)])
t1.end()
t2.end()

t3 = Task(3, dataflow_tag, exec_tag, "TestingModel", dependency=t1)
t3.begin()
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
t3.add_dataset(DataSet("oTestingModel", [Element([loss, accuracy])]))
t3.end()
print(f"test loss {loss:.4f}, accuracy {accuracy:.4f}; recorded as {dataflow_tag} / {exec_tag}")
