import numpy as np
import pytest

from fastnn import initializers


@pytest.mark.parametrize("name,variance", [
    ("glorot_uniform", lambda fi, fo: 2 / (fi + fo)),
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo)),
    ("he_uniform", lambda fi, fo: 2 / fi),
    ("he_normal", lambda fi, fo: 2 / fi),
])
def test_scaled_initializers_have_their_variance(name, variance):
    rng = np.random.default_rng(0)
    w = initializers.get(name)((400, 300), 400, 300, rng, np.float64)
    assert abs(w.mean()) < 0.01 * np.sqrt(variance(400, 300))
    assert w.var() == pytest.approx(variance(400, 300), rel=0.03)
    if name.endswith("_normal"):  # truncated at two standard deviations, as in Keras
        assert np.abs(w).max() <= 2 * np.sqrt(variance(400, 300)) / 0.8796256610342398 + 1e-12


def test_simple_initializers():
    rng = np.random.default_rng(0)
    assert (initializers.get("zeros")((3, 2), 3, 2, rng, np.float32) == 0).all()
    assert (initializers.Constant(0.25)((4,), 1, 1, rng, np.float32) == 0.25).all()
    u = initializers.RandomUniform(-0.1, 0.1)((1000,), 1, 1, rng, np.float32)
    assert u.dtype == np.float32 and u.min() >= -0.1 and u.max() < 0.1
    n = initializers.RandomNormal(stddev=0.05)((10000,), 1, 1, rng, np.float64)
    assert n.std() == pytest.approx(0.05, rel=0.05)
    cfg = initializers.get("he_normal").get_config()
    assert type(initializers.get(cfg)) is initializers.HeNormal
    with pytest.raises(ValueError, match="initializer: expected one of"):
        initializers.get("lecun_magic")
