"""An AlexNet-style script written the way the original Keras-Prov README wrote them: plain `keras`
imports, `model.provenance(dataflow_tag=..., adaptation=..., hyps=...)`, a LearningRateScheduler.

Nothing here imports keras_prov: the startup hook installed with Keras-Prov gives Keras the
`provenance` method. The only change from a 2020 script is the data (scikit-learn's digits, 8x8,
instead of a download) and `learning_rate=` in place of Keras 2's `lr=` (which still works, with a
deprecation warning).

Run it with DfAnalyzer running (DFA_URL, default http://127.0.0.1:22000):

    python examples/keras_prov_original_api.py
"""
import math

import numpy as np
from keras.callbacks import LearningRateScheduler
from keras.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from keras.models import Sequential
from keras.optimizers import SGD
from keras.utils import to_categorical
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

digits = load_digits()
x = (digits.images / 16.0).astype("float32").reshape(-1, 8, 8, 1)
y = to_categorical(digits.target, 10)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=1)

model = Sequential()
model.add(Conv2D(16, (3, 3), padding="same", input_shape=(8, 8, 1)))
model.add(Activation("relu"))
model.add(BatchNormalization())
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(32, (3, 3), padding="same"))
model.add(Activation("relu"))
model.add(BatchNormalization())
model.add(Flatten())
model.add(Dense(64))
model.add(Activation("relu"))
model.add(Dropout(0.4))
model.add(Dense(10))
model.add(Activation("softmax"))

hyps = {"OPTIMIZER_NAME": True, "LEARNING_RATE": True, "DECAY": True, "MOMENTUM": True,
        "NUM_EPOCHS": True, "BATCH_SIZE": True, "NUM_LAYERS": True}
model.provenance(dataflow_tag="alexnet1", adaptation=True, hyps=hyps)

opt = SGD(learning_rate=0.01, momentum=0.9)
model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])


def step_decay(epoch):
    initial_lrate, drop, epochs_drop = 0.01, 0.5, 1.0
    return initial_lrate * math.pow(drop, math.floor((1 + epoch) / epochs_drop))


lrate = LearningRateScheduler(step_decay)
model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=1, validation_split=0.2, shuffle=True,
          callbacks=[lrate])
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
print("Learning rate after training:", float(np.asarray(model.optimizer.lr)))
print("Provenance execution:", model.get_exec_tag())
