"""Models: ``Sequential``, saving and loading, ensembles."""
from .ensemble import Ensemble
from .saving import load_model
from .sequential import Sequential

__all__ = ["Ensemble", "Sequential", "load_model"]
