"""Weight penalties compared: none, L1, L2 and the elastic net (L1 + L2), as in the lecture: Keras code, only the
import changed.

    python examples/regularization.py [--epochs N]

The same network is trained four times; each run prints its training and
test accuracy and the share of first-layer weights near zero (L1 drives
weights to exactly zero, L2 only shrinks them).
Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``.
"""
import argparse

import numpy as np

import fastnn as keras  # was: import keras
from fastnn import layers, regularizers  # was: from keras import layers, regularizers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

penalties = {
    "none": None,
    "L1": regularizers.L1(1e-4),
    "L2": regularizers.L2(1e-3),
    "elastic net": regularizers.L1L2(l1=1e-4, l2=1e-3),
}
for name, penalty in penalties.items():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(256, activation="relu", kernel_regularizer=penalty),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    small = float(np.mean(np.abs(model.layers[0].get_weights()[0]) < 1e-3))
    print(f"{name:>12}: train accuracy {history.history['accuracy'][-1]:.4f}, "
          f"weights below 1e-3: {small:.1%}, Test accuracy: {test_acc:.4f}")
