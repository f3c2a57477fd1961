"""Grid search and random search over hyperparameters with scikit-learn, as in the lecture: Keras code (Keras 3's
``keras.wrappers.SKLearnClassifier``), only the import changed.

    python examples/hyperparameter_search.py [--epochs N]

``GridSearchCV`` tries every combination of hidden units and learning rate
with 3-fold cross-validation; ``RandomizedSearchCV`` tries 4 random combinations
(the learning rate log-uniform). Each refits the best
model on all training data and scores it on the test set.
Data: ``keras.datasets.mnist.load_data()``, as in ``mnist_mlp.py``.
"""
import argparse

import numpy as np
from scipy.stats import loguniform
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

import fastnn as keras  # was: import keras
from fastnn import layers  # was: from keras import layers
from fastnn.wrappers import SKLearnClassifier  # was: from keras.wrappers import SKLearnClassifier

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255


def build_model(X, y, hidden=64, learning_rate=1e-3):
    """The wrapper calls this with the data (y one-hot) and one combination of hyperparameters."""
    model = keras.Sequential([
        keras.Input(shape=X.shape[1:]),
        layers.Dense(hidden, activation="relu"),
        layers.Dense(y.shape[1], activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


fit_kwargs = {"epochs": args.epochs, "batch_size": 64}
grid = GridSearchCV(
    SKLearnClassifier(build_model, fit_kwargs=fit_kwargs),
    {"model_kwargs": [{"hidden": h, "learning_rate": lr} for h in (32, 128) for lr in (1e-3, 1e-2)]},
    cv=3)
grid.fit(x_train, y_train)
for params, score in zip(grid.cv_results_["params"], grid.cv_results_["mean_test_score"]):
    print(f"grid   {params['model_kwargs']}: cross-validated accuracy {score:.4f}")
print("Grid search best:", grid.best_params_["model_kwargs"], f"Test accuracy: {grid.score(x_test, y_test):.4f}")


# Keras 3's wrapper takes the hyperparameters as one dict, model_kwargs: the random search draws it from a list
# of random combinations, the learning rate log-uniform.
candidates = [{"hidden": int(h), "learning_rate": float(lr)} for h, lr in
              zip(np.random.default_rng(0).choice([32, 64, 128], 20), loguniform(1e-4, 3e-2).rvs(20, random_state=0))]
search = RandomizedSearchCV(SKLearnClassifier(build_model, fit_kwargs=fit_kwargs), {"model_kwargs": candidates},
                            n_iter=4, cv=3, random_state=0)
search.fit(x_train, y_train)
best = search.best_params_["model_kwargs"]
print(f"Random search best: hidden {best['hidden']}, learning rate {best['learning_rate']:.2e}, "
      f"Test accuracy: {search.score(x_test, y_test):.4f}")
