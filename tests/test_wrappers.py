"""scikit-learn wrappers (fastnn.wrappers, as keras.wrappers): estimator checks, GridSearchCV on digits."""
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastnn import Adam, Dense, Sequential  # noqa: E402
from fastnn.wrappers import SKLearnClassifier, SKLearnRegressor  # noqa: E402


def classifier(X, y, hidden=16, learning_rate=0.01, loss="categorical_crossentropy"):
    """As Keras' wrappers ask: built from X and the one-hot y, compiled."""
    model = Sequential([Dense(hidden, activation="relu", input_shape=X.shape[1:]),
                        Dense(y.shape[1], activation="softmax")], seed=0)
    model.compile(loss=loss, optimizer=Adam(learning_rate), metrics=["accuracy"])
    return model


def regressor(X, y, hidden=16, learning_rate=0.01):
    model = Sequential([Dense(hidden, activation="relu", input_shape=X.shape[1:]), Dense(y.shape[1])], seed=0)
    model.compile(loss="mse", optimizer=Adam(learning_rate))
    return model


# Every check applies and passes. Two skip themselves when their tool is missing, in this
# environment: check_array_api_input (needs SCIPY_ARRAY_API=1 and an array-API library) and
# check_classifier_data_not_an_array / check_regressor_data_not_an_array (need pandas).
@parametrize_with_checks([SKLearnClassifier(classifier, fit_kwargs={"epochs": 5}),
                          SKLearnRegressor(regressor, fit_kwargs={"epochs": 5})])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def digits(n=600):
    x, y = sklearn.datasets.load_digits(return_X_y=True)
    return (x[:n] / 16).astype(np.float32), y[:n]


def test_grid_search_cv_on_digits():
    x, y = digits()
    grid = {"model_kwargs": [{"hidden": 8, "learning_rate": 1e-5}, {"hidden": 32, "learning_rate": 0.01}],
            "fit_kwargs": [{"epochs": 10, "batch_size": 32}]}
    search = GridSearchCV(SKLearnClassifier(classifier), grid, cv=3).fit(x[:450], y[:450])
    assert len(search.cv_results_["params"]) == 2
    assert search.best_params_["model_kwargs"] == {"hidden": 32, "learning_rate": 0.01}
    assert search.best_score_ > 0.85 and search.cv_results_["mean_test_score"].min() < 0.5
    assert search.best_estimator_.model_.epoch == 10 and search.score(x[450:], y[450:]) > 0.8


def test_predictions_labels_and_probabilities():
    x, y = digits(300)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    est = SKLearnClassifier(classifier, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 10}).fit(x, names[y])
    assert list(est.classes_) == sorted(names) and est.n_features_in_ == 64
    proba = est.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert (est.predict(x) == est.classes_[proba.argmax(axis=1)]).all() and est.score(x, names[y]) > 0.9
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(x), proba)

    sparse = SKLearnClassifier(classifier, model_kwargs={"loss": "sparse_categorical_crossentropy"},
                               fit_kwargs={"epochs": 10}).fit(x, y)
    assert sparse.score(x, y) > 0.9  # a model compiled for class indices is trained on them

    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "model_")
    assert copy.set_params(model_kwargs={"hidden": 4}).model_kwargs == {"hidden": 4}


def test_warm_start_keeps_training_the_same_model():
    x, y = digits(200)
    est = SKLearnClassifier(classifier, warm_start=True, fit_kwargs={"epochs": 2}).fit(x, y)
    model = est.model_
    est.fit(x, y)
    assert est.model_ is model and model.epoch == 4


def test_regressor_fits_a_smooth_function():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 2))
    y = x[:, 0] * 2 - x[:, 1]
    est = SKLearnRegressor(regressor, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 40}).fit(x, y)
    assert est.predict(x).shape == (400,) and est.score(x, y) > 0.95


def test_bad_models_are_named():
    x, y = digits(60)
    with pytest.raises(TypeError, match="model: expected a compiled fastnn model or a callable"):
        SKLearnClassifier("a model").fit(x, y)
    with pytest.raises(ValueError, match="model: a model instance must be compiled"):
        SKLearnClassifier(Sequential([Dense(10, activation="softmax", input_shape=(64,))])).fit(x, y)
    with pytest.raises(ValueError, match="model: it must return a compiled fastnn model"):
        SKLearnClassifier(lambda X, y: Sequential([Dense(10, input_shape=(64,))])).fit(x, y)
    with pytest.raises(TypeError, match="model_kwargs: expected a dict"):
        SKLearnClassifier(classifier, model_kwargs=[("hidden", 4)]).fit(x, y)
    with pytest.raises(ValueError, match="y: a classifier needs at least 2 classes"):
        SKLearnClassifier(classifier).fit(x, np.zeros(len(x)))


# -- a model instance, cloned per fit (Keras' and scikeras' way) --------------------------------------------

def instance(hidden=16, built=True):
    """The model ``classifier`` builds for the digits, as an instance (lazy, without an input shape, if not built)."""
    first = Dense(hidden, activation="relu", input_shape=(64,)) if built else Dense(hidden, activation="relu")
    model = Sequential([first, Dense(10, activation="softmax")], seed=0)
    model.compile(loss="categorical_crossentropy", optimizer=Adam(0.01, use_ema=True, ema_momentum=0.5),
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("built", [True, False], ids=["built", "lazy"])
def test_a_model_instance_is_cloned_for_every_fit(built):
    x, y = digits(300)
    template = instance(built=built)
    before = template.get_weights() if built else None
    est = SKLearnClassifier(template, fit_kwargs={"epochs": 3}).fit(x, y)
    assert est.model_ is not template and est.model_.optimizer is not template.optimizer
    assert est.model_.optimizer.get_config() == template.optimizer.get_config()  # use_ema and all
    assert est.model_.metrics == ["accuracy"] and est.model_.epoch == 3
    if built:  # the template itself never trains
        for got, want in zip(template.get_weights(), before):
            np.testing.assert_array_equal(got, want)
    else:
        assert not template.built
    # the clone is the model the build function makes (same architecture, seed and compile), trained alike
    built_fn = SKLearnClassifier(lambda X, y: instance(), fit_kwargs={"epochs": 3}).fit(x, y)
    np.testing.assert_array_equal(est.predict_proba(x), built_fn.predict_proba(x))
    first = est.predict_proba(x)
    est.fit(x, y)  # a new clone: starts again from fresh weights, not from the last fit
    np.testing.assert_array_equal(est.predict_proba(x), first)


def test_grid_search_and_pickling_with_a_model_instance():
    x, y = digits()
    search = GridSearchCV(SKLearnClassifier(instance(32)), {"fit_kwargs": [{"epochs": 1}, {"epochs": 10}]}, cv=3)
    search.fit(x[:450], y[:450])
    assert search.best_params_ == {"fit_kwargs": {"epochs": 10}} and search.best_estimator_.model_.epoch == 10
    assert search.score(x[450:], y[450:]) > 0.8
    copy = clone(search.estimator)  # shares the template: a model cannot be deep-copied
    assert copy.model is search.estimator.model and copy.get_params() == search.estimator.get_params()
    for est in (search.best_estimator_, SKLearnClassifier(instance(built=False))):
        again = pickle.loads(pickle.dumps(est))
        assert again.model.get_config() == est.model.get_config()
        assert again.model.optimizer.get_config() == est.model.optimizer.get_config()
    again = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(again.predict_proba(x), search.best_estimator_.predict_proba(x))


def test_warm_start_trains_the_instance_itself():
    x, y = digits(200)
    template = instance()
    est = SKLearnClassifier(template, warm_start=True, fit_kwargs={"epochs": 2}).fit(x, y)
    est.fit(x, y)
    assert est.model_ is template and template.epoch == 4


def test_a_functional_model_instance_is_cloned_too():
    import fastnn

    x, y = digits(300)
    inputs = fastnn.Input(shape=(64,))
    outputs = Dense(10, activation="softmax")(Dense(16, activation="relu")(inputs))
    functional = fastnn.Model(inputs, outputs, seed=0)
    functional.compile(loss="categorical_crossentropy", optimizer=Adam(0.01, use_ema=True, ema_momentum=0.5),
                       metrics=["accuracy"])
    est = SKLearnClassifier(functional, fit_kwargs={"epochs": 3}).fit(x, y)
    assert type(est.model_) is type(functional) and est.model_ is not functional
    chain = SKLearnClassifier(instance(), fit_kwargs={"epochs": 3}).fit(x, y)  # the same network as a Sequential
    np.testing.assert_array_equal(est.predict_proba(x), chain.predict_proba(x))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(x), est.predict_proba(x))
