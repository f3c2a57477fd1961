"""scikit-learn estimators around fastnn models, as Keras 3's ``keras.wrappers``.

``SKLearnClassifier(model=build, model_kwargs={...}, fit_kwargs={...})`` is a
scikit-learn classifier: ``fit``, ``predict``, ``predict_proba``, ``score``,
``get_params``/``set_params``, cloneable, so it works in ``GridSearchCV``,
``RandomizedSearchCV``, ``cross_val_score`` and pipelines::

    def build(X, y, hidden=32, learning_rate=0.01):
        model = fastnn.Sequential([Dense(hidden, activation="relu", input_shape=X.shape[1:]),
                                   Dense(y.shape[1], activation="softmax")], seed=0)
        model.compile(loss="categorical_crossentropy", optimizer=Adam(learning_rate), metrics=["accuracy"])
        return model

    search = GridSearchCV(SKLearnClassifier(build, fit_kwargs={"epochs": 10}),
                          {"model_kwargs": [{"hidden": 16}, {"hidden": 64}]}, cv=3)

``model`` is a callable called as ``model(X=X, y=y, **model_kwargs)`` that
returns a compiled model; as in Keras, a classifier's ``y`` is one-hot encoded
(so ``y.shape[1]`` is the number of classes). A model compiled with
``sparse_categorical_crossentropy`` is trained on class indices instead.
``model`` may also be a compiled model instance, as in Keras: every ``fit``
then trains a clone (``fastnn.models.clone_model``: same architecture, fresh
weights, compiled the same way with a new optimizer), so the instance itself
never trains and cross-validation folds start alike; with ``warm_start=True``
the instance itself is trained, as Keras does. Unlike Keras, ``fit`` is quiet
unless ``fit_kwargs`` says ``verbose``.
"""
from __future__ import annotations

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # pragma: no cover - the wrappers need scikit-learn; say so when used
    BaseEstimator = ClassifierMixin = RegressorMixin = object
    _SKLEARN = False
else:
    _SKLEARN = True


def _validate(estimator, X, y=None, reset=True):
    """scikit-learn's input validation (the function moved in scikit-learn 1.6)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return estimator._validate_data(X, y, reset=reset) if y is not None else \
            estimator._validate_data(X, reset=reset)
    if y is None:
        return validate_data(estimator, X, reset=reset)
    return validate_data(estimator, X, y, reset=reset, y_numeric=isinstance(estimator, RegressorMixin))


def _compile_settings(model):
    """``compile``'s arguments that give another model ``model``'s losses, metrics and a new optimizer like its own."""
    return {"optimizer": model.optimizer.get_config(), **model.compiled.get_config()}


def _compiled_clone(model):
    """A model instance's architecture with fresh weights, compiled as the instance is: what Keras' wrappers
    train in its place."""
    from .models import clone_model

    if model.loss is None:
        raise ValueError("model: a model instance must be compiled (each fit trains a clone compiled the same way)")
    clone = clone_model(model)
    clone.compile(**_compile_settings(model))
    return clone


def _model_state(model):
    """A fastnn model as picklable data (a model holds its backend, a module): the bytes of its checkpoint
    when built, else its config and compile settings."""
    import os
    import tempfile

    if not model.built:
        return "config", model.get_config(), model.loss is not None and _compile_settings(model), model.backend.name
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        model.save(path)
        with open(path, "rb") as f:
            return "checkpoint", f.read(), model.backend.name


def _model_from_state(state):
    import os
    import tempfile

    from .models import load_model
    from .models.saving import from_config

    if state[0] == "config":
        _, config, settings, device = state
        model = from_config(config, device)
        if settings:
            model.compile(**settings)
        return model
    _, data, device = state
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path, device=device)


class _SKLearnBase(BaseEstimator):
    """What the classifier and regressor share: building, fitting and predicting."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        if not _SKLEARN:
            raise ImportError(f"{type(self).__name__} needs scikit-learn: pip install scikit-learn")
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def _build(self, X, y):
        from .models import Model

        for name in ("model_kwargs", "fit_kwargs"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name}: expected a dict or None, got {type(getattr(self, name)).__name__}")
        if isinstance(self.model, Model):
            return self.model if self.warm_start else _compiled_clone(self.model)
        if not callable(self.model) or hasattr(self.model, "fit"):
            raise TypeError(f"model: expected a compiled fastnn model or a callable model(X=..., y=..., "
                            f"**model_kwargs) returning one, got {type(self.model).__name__}")
        model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if getattr(model, "loss", None) is None or not hasattr(model, "fit"):
            raise ValueError("model: it must return a compiled fastnn model (call model.compile(...))")
        return model

    def fit(self, X, y, **kwargs):
        """Build (unless ``warm_start`` and fitted) and train the model on (X, y); returns self.

        ``kwargs`` go to ``model.fit`` and take precedence over ``fit_kwargs``.
        """
        if y is None:
            raise ValueError("y: this estimator requires y to be passed, but the target y is None")
        X, y = _validate(self, X, y, reset=not (self.warm_start and hasattr(self, "model_")))
        targets = self._encode_targets(y)
        model = self.model_ if self.warm_start and hasattr(self, "model_") else self._build(X, targets)
        if getattr(model.loss, "takes_class_indices", False) and targets.ndim == 2:
            targets = targets.argmax(axis=1)
        fit_kwargs = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        if self.warm_start and hasattr(self, "model_"):
            fit_kwargs.setdefault("initial_epoch", model.epoch)
            fit_kwargs["epochs"] = fit_kwargs["initial_epoch"] + fit_kwargs.get("epochs", 1)
        self.history_ = model.fit(X.astype(model.dtype, copy=False), targets, **fit_kwargs)
        self.model_ = model
        return self

    def __sklearn_clone__(self):
        """scikit-learn's ``clone``: a model instance passed as ``model`` is shared, not deep-copied (it is a
        template that each fit clones; and a model holds its backend, which cannot be copied)."""
        from sklearn.base import clone

        from .models import Model

        params = self.get_params(deep=False)
        return type(self)(**{k: v if k == "model" and isinstance(v, Model) else clone(v, safe=False)
                             for k, v in params.items()})

    def __getstate__(self):
        from .models import Model

        state = dict(self.__dict__)
        if "model_" in state:
            state["model_"] = _model_state(state["model_"])
            state.pop("history_", None)
        if isinstance(state["model"], Model):
            state["model"] = ("fastnn model", _model_state(state["model"]))
        return state

    def __setstate__(self, state):
        if "model_" in state:
            state["model_"] = _model_from_state(state["model_"])
        if isinstance(state["model"], tuple) and state["model"][0] == "fastnn model":
            state["model"] = _model_from_state(state["model"][1])
        self.__dict__.update(state)

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return np.asarray(self.model_.predict(X.astype(self.model_.dtype, copy=False)))


class SKLearnClassifier(ClassifierMixin, _SKLearnBase):
    """A scikit-learn classifier around a fastnn model (as ``keras.wrappers.SKLearnClassifier``).

    Args:
        model: callable ``model(X=X, y=y, **model_kwargs)`` returning a compiled
            model; ``y`` is one-hot (n_samples, n_classes).
        warm_start: keep training the fitted model on the next ``fit`` instead of building a new one.
        model_kwargs: dict of keyword arguments for ``model`` (what ``GridSearchCV`` varies).
        fit_kwargs: dict of keyword arguments for ``model.fit`` (epochs, batch_size, ...).

    Attributes: ``model_`` (the fitted model), ``history_`` (its ``History``),
    ``classes_`` (the class labels), ``n_features_in_``.
    """

    def _encode_targets(self, y):
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(y)
        if y.ndim != 1:
            raise ValueError(f"y: expected one label per sample (a 1-D array), got shape {y.shape}")
        if not (self.warm_start and hasattr(self, "classes_")):
            self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y: a classifier needs at least 2 classes, got 1 class ({self.classes_[0]!r})")
        index = np.searchsorted(self.classes_, y)
        if np.any(index >= len(self.classes_)) or np.any(self.classes_[np.minimum(index, len(self.classes_) - 1)] != y):
            raise ValueError("y: holds labels the first fit did not see (warm_start keeps the classes)")
        return np.eye(len(self.classes_), dtype=np.float32)[index]

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes) in the order of ``classes_``."""
        p = self._raw_predict(X)
        return np.hstack([1 - p, p]) if p.shape[1] == 1 else p

    def predict(self, X):
        """The most probable class label of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True  # a few epochs on the checks' tiny data sets
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}


class SKLearnRegressor(RegressorMixin, _SKLearnBase):
    """A scikit-learn regressor around a fastnn model (as ``keras.wrappers.SKLearnRegressor``).

    Args are those of ``SKLearnClassifier``; ``y`` reaches ``model`` and
    ``fit`` as given (1-D targets as a column). ``score`` is R².
    """

    def _encode_targets(self, y):
        self._flat_target = y.ndim == 1
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def predict(self, X):
        """Predicted targets, 1-D when the training targets were."""
        out = self._raw_predict(X)
        return out.ravel() if self._flat_target else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}
