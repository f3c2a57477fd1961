"""Transfer learning as the lecture teaches it: Keras code, only the import changed.

    python examples/transfer_learning.py [--epochs N]

1. A CNN is trained on the digits 0-4.
2. Its layers up to the last hidden one become a feature extractor, frozen
   (``trainable = False``) inside a new model whose new head learns the digits 5-9.
3. Fine-tuning: the top of the feature extractor (the second convolution and the
   dense layer) is unfrozen, the first layers stay frozen, and the whole model
   trains on 5-9 again with a 10x smaller learning rate.
Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``.
"""
import argparse

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=5, help="epochs of each of the three trainings")
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape((-1, 28, 28, 1)).astype("float32") / 255
x_test = x_test.reshape((-1, 28, 28, 1)).astype("float32") / 255
low_train, low_test = y_train < 5, y_test < 5
x_low, y_low, x_low_test, y_low_test = x_train[low_train], y_train[low_train], x_test[low_test], y_test[low_test]
# the digits 5-9 as classes 0-4 of the new head
x_high, y_high = x_train[~low_train], y_train[~low_train] - 5
x_high_test, y_high_test = x_test[~low_test], y_test[~low_test] - 5

# 1. the base model, trained on 0-4
base_model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(5, activation="softmax"),
])
base_model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
base_model.fit(x_low, y_low, batch_size=64, epochs=args.epochs, verbose=2)
print("Base model, digits 0-4: Test accuracy:", base_model.evaluate(x_low_test, y_low_test, verbose=0)[1])

# 2. feature extraction: the trained layers, frozen, under a new head for 5-9
feature_extractor = keras.Sequential([keras.Input(shape=(28, 28, 1)), *base_model.layers[:-1]],
                                     name="feature_extractor")
feature_extractor.trainable = False
model = keras.Sequential([feature_extractor, layers.Dense(5, activation="softmax")])
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
print("New head, digits 5-9, before training: Test accuracy:",
      model.evaluate(x_high_test, y_high_test, verbose=0)[1])
model.fit(x_high, y_high, batch_size=64, epochs=args.epochs, verbose=2)
print("Frozen features + new head, digits 5-9: Test accuracy:",
      model.evaluate(x_high_test, y_high_test, verbose=0)[1])

# 3. fine-tuning: unfreeze the top of the feature extractor, keep its first layers frozen, lower the learning rate
feature_extractor.trainable = True
for layer in feature_extractor.layers[:2]:  # the first convolution and its pooling
    layer.trainable = False
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])  # compile again after changing `trainable`, as Keras requires
model.summary()
model.fit(x_high, y_high, batch_size=64, epochs=args.epochs, verbose=2)
print("Fine-tuned, digits 5-9: Test accuracy:", model.evaluate(x_high_test, y_high_test, verbose=0)[1])
