"""Dropout with a max-norm constraint (Srivastava et al., 2014), as the lecture builds it: Keras code, only the
import changed.

    python examples/mnist_maxnorm.py [--epochs N]

Dropout on the inputs (0.2) and hidden units (0.5); every hidden unit's
incoming weight vector is kept at norm <= 2 (``MaxNorm``), which lets SGD use
a large learning rate and momentum without the weights blowing up.
Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``.
"""
import argparse

import numpy as np

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dropout(0.2),
    layers.Dense(512, activation="relu", kernel_constraint=keras.constraints.MaxNorm(2)),
    layers.Dropout(0.5),
    layers.Dense(512, activation="relu", kernel_constraint=keras.constraints.MaxNorm(2)),
    layers.Dropout(0.5),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=2, validation_split=0.1)

hidden = [layer for layer in model.layers if isinstance(layer, layers.Dense)][:2]
norms = [np.linalg.norm(layer.get_weights()[0], axis=0).max() for layer in hidden]  # per unit: a kernel column
print("Largest hidden-unit weight norm:", max(norms))
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print("Test accuracy:", test_acc)
