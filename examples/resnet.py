"""A small residual network on MNIST with the Keras functional API: Keras code, only the import changed.

    python examples/resnet.py [--epochs N]

Three stages of basic blocks (two 3x3 convolutions with batch norm, and a
1x1 projection shortcut where the shape changes), global average pooling and
a softmax. Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``
(a local MNIST, else a small stand-in from scikit-learn's digits, with a warning).
"""
import argparse

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape((-1, 28, 28, 1)).astype("float32") / 255
x_test = x_test.reshape((-1, 28, 28, 1)).astype("float32") / 255


def bn():
    # momentum 0.9 instead of Keras' 0.99: the moving statistics then settle within the few hundred
    # steps of a short run, so evaluation (which uses them) matches training early on
    return layers.BatchNormalization(momentum=0.9)


def residual_block(x, filters, stride=1):
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:  # the shape changes: project the shortcut
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = bn()(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = bn()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = bn()(y)
    return layers.ReLU()(layers.Add()([shortcut, y]))


inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
x = layers.ReLU()(bn()(x))
x = residual_block(x, 8)
x = residual_block(x, 16, stride=2)
x = residual_block(x, 32, stride=2)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="small_resnet")
model.summary()

model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.1, verbose=2)

test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print("Test accuracy:", test_acc)
