"""The lecture's MNIST multilayer perceptron (784-500-300-10 with dropout): Keras code, only the import changed.

    python examples/mnist_mlp.py [--epochs N]

The data come from ``keras.datasets.mnist.load_data()``; fastnn downloads
nothing, so it reads Keras' cached ``~/.keras/datasets/mnist.npz`` (or
``$FASTNN_MNIST``: that file, or a directory with the four IDX files) and
otherwise, with a warning, a small stand-in made from scikit-learn's 8x8
digits (``FASTNN_EXAMPLES_SMALL=1`` asks for it): see ``fastnn.keras_data``.
"""
import argparse

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

keras.utils.set_random_seed(0)
batch_size = 128
num_classes = 10

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(500, activation="relu"),
    layers.Dropout(0.3),
    layers.Dense(300, activation="relu"),
    layers.Dropout(0.3),
    layers.Dense(num_classes, activation="softmax"),
])
model.summary()

model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=args.epochs, verbose=2,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
