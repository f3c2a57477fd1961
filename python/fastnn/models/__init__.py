"""Models: ``Sequential``, saving and loading, cloning, ensembles (Keras' ``keras.models``)."""
from .ensemble import Ensemble
from .functional import Functional
from .model import Model
from .saving import clone_model, load_model, model_from_json
from .sequential import Sequential

__all__ = ["Ensemble", "Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json"]
