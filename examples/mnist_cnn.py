"""The lecture's Keras MNIST convnet, line for line with fastnn.

    python examples/mnist_cnn.py MNIST_DIR    # MNIST, 28x28 (the lecture's setting)
    python examples/mnist_cnn.py              # scikit-learn's 8x8 digits, no download

MNIST_DIR holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz), from
https://yann.lecun.com/exdb/mnist/ or a mirror. ``--epochs N`` overrides the
number of epochs.

What differs from the Keras script:
* ``from fastnn import ...`` instead of ``from keras import ...``.
* ``datasets.mnist(MNIST_DIR)`` reads the files you downloaded (Keras'
  ``mnist.load_data()`` downloads them) and already returns float32 images
  of shape (n, 28, 28, 1) in [0, 1], so the ``reshape``/``astype``/``/ 255``
  lines are gone.
* On the 8x8 digits both convolutions use ``padding='same'``: with the
  lecture's 'valid' 3x3 convolutions the image shrinks 8 -> 6 -> 3 -> 1 and
  the second pooling has nothing left to pool. With 'same' it goes
  8 -> 4 -> 2, so Flatten gives 2*2*64 = 256 features (1600 on MNIST).
  The digits run trains longer (30 epochs instead of 5): it has 1,347
  training images instead of 60,000.
"""
import argparse

from fastnn import Conv2D, Dense, Flatten, MaxPooling2D, RMSprop, Sequential
from fastnn.datasets import digits, mnist, to_categorical

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("mnist_dir", nargs="?", help="directory with the four MNIST IDX files (default: 8x8 digits)")
parser.add_argument("--epochs", type=int, help="default 5 on MNIST, 30 on digits")
args = parser.parse_args()

if args.mnist_dir:
    (train_images, train_labels), (test_images, test_labels) = mnist(args.mnist_dir)
    padding, epochs = "valid", 5
else:
    (train_images, train_labels), (test_images, test_labels) = digits(flatten=False)
    padding, epochs = "same", 30
epochs = epochs if args.epochs is None else args.epochs

model = Sequential()
model.add(Conv2D(32, (3, 3), activation="relu", padding=padding, input_shape=train_images.shape[1:]))
model.add(MaxPooling2D((2, 2)))
model.add(Conv2D(64, (3, 3), activation="relu", padding=padding))
model.add(MaxPooling2D((2, 2)))
model.add(Flatten())
model.add(Dense(64, activation="relu"))
model.add(Dense(10, activation="softmax"))
model.summary()

model.compile(optimizer=RMSprop(), loss="categorical_crossentropy", metrics=["accuracy"])

train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

model.fit(train_images, train_labels, epochs=epochs, batch_size=64)

test_loss, test_acc = model.evaluate(test_images, test_labels)
print("test accuracy:", test_acc)
