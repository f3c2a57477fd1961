"""Early stopping, as in the lecture: train for up to 100 epochs, stop once the validation loss has not improved
by 0.001 for 3 epochs and keep the best weights. Keras code, only the import changed.

    python examples/early_stopping.py [--epochs N]

Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``.
"""
import argparse

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=100)
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-3, patience=3,
                                               restore_best_weights=True)
history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_split=0.2, verbose=2,
                    callbacks=[early_stopping])

epochs_run = len(history.history["loss"])
best = min(range(epochs_run), key=history.history["val_loss"].__getitem__)
print(f"Trained {epochs_run} of {args.epochs} epochs; best validation loss at epoch {best + 1}")
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print("Test accuracy:", test_acc)
