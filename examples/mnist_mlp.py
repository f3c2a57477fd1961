"""The lecture's Keras MNIST multilayer perceptron (784-500-300-10 with dropout), with fastnn.

    python examples/mnist_mlp.py MNIST_DIR    # MNIST (the lecture's setting)
    python examples/mnist_mlp.py              # scikit-learn's 8x8 digits: 64-500-300-10

MNIST_DIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz), from
https://yann.lecun.com/exdb/mnist/ or a mirror. ``--epochs N`` overrides the
number of epochs.

What differs from the Keras script:
* ``from fastnn import ...`` instead of ``from keras... import ...``.
* ``datasets.mnist(MNIST_DIR, flatten=True)`` reads the files you downloaded
  and already returns float32 rows of 784 values in [0, 1], so the
  ``reshape``/``astype('float32')``/``/= 255`` lines are gone.
* On the 8x8 digits the input layer has 64 units instead of 784.
"""
import argparse

from fastnn import Dense, Dropout, RMSprop, Sequential
from fastnn.datasets import digits, mnist, to_categorical

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("mnist_dir", nargs="?", help="directory with the four MNIST IDX files (default: 8x8 digits)")
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()

batch_size = 128
num_classes = 10
epochs = args.epochs

if args.mnist_dir:
    (x_train, y_train), (x_test, y_test) = mnist(args.mnist_dir, flatten=True)
else:
    (x_train, y_train), (x_test, y_test) = digits()
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

y_train = to_categorical(y_train, num_classes)
y_test = to_categorical(y_test, num_classes)

model = Sequential()
model.add(Dense(500, activation="relu", input_shape=(x_train.shape[1],)))
model.add(Dropout(0.3))
model.add(Dense(300, activation="relu"))
model.add(Dropout(0.3))
model.add(Dense(num_classes, activation="softmax"))
model.summary()

model.compile(loss="categorical_crossentropy", optimizer=RMSprop(), metrics=["accuracy"])

history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=1,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
