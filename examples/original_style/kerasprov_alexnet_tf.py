"""A Keras-Prov-style script written against TensorFlow's Keras: `import tensorflow as tf`,
`from tensorflow.keras...` imports, `model.provenance(dataflow_tag=..., adaptation=True, hyps=...)`
and a LearningRateScheduler; Keras-Prov records the hyperparameters, every epoch, the rate's
adaptations, the test and the trained model.

Nothing imports keras_prov: the startup hook patches Keras however it arrives, TensorFlow's route
included. The original trained AlexNet on 224x224 RGB flower photos of 17 classes; `load_data`
generates images of that shape, and the network is a small one in AlexNet's layout.

    DFA_URL=http://127.0.0.1:22000 python examples/original_style/kerasprov_alexnet_tf.py
"""
import math

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
from tensorflow.keras.callbacks import LearningRateScheduler
from tensorflow.keras.layers import Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam


def load_data(samples=60):
    """(x, y) as the flowers loader returned them: 224x224 RGB images and their class (generated)."""
    rng = np.random.default_rng(1000)
    return rng.random((samples, 224, 224, 3), dtype="float32"), rng.integers(0, 17, samples)


x, y = load_data()
y = tf.keras.utils.to_categorical(y, 17)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, shuffle=True, random_state=1)

drop = 0.5
epochs = 2
initial_lrate = 0.001
epochs_drop = 2.0

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
model.add(Dropout(drop))
model.add(Dense(17))
model.add(Activation("softmax"))

hyps = {"OPTIMIZER_NAME": True, "LEARNING_RATE": True, "DECAY": True, "MOMENTUM": True, "NUM_EPOCHS": True,
        "BATCH_SIZE": True, "NUM_LAYERS": True}
model.provenance(dataflow_tag="kerasprov_alexnet_tf", adaptation=True, hyps=hyps)


def step_decay(epoch):
    return initial_lrate * math.pow(drop, math.floor((1 + epoch) / epochs_drop))


model.compile(loss="categorical_crossentropy", optimizer=Adam(learning_rate=initial_lrate), metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=16, epochs=epochs, callbacks=[LearningRateScheduler(step_decay, verbose=1)],
          verbose=2, validation_split=0.2, shuffle=True)
model.evaluate(x_test, y_test, verbose=0)
print(f"recorded as kerasprov_alexnet_tf / {model.get_exec_tag()}")
