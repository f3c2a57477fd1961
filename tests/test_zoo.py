"""The ready-made models of fastnn.zoo (used by the command line and searches)."""
import pytest

import fastnn
from fastnn import zoo


def test_built_in_mlp_builder_reads_its_hyperparameters():
    build = zoo.model_builder("mlp", (4,), 3, seed=0)
    model = build({"hidden": [8, 6], "optimizer": "nesterov", "learning_rate": 0.02, "l2": 1e-3})
    assert [l.units for l in model.layers] == [8, 6, 3]
    assert model.optimizer.nesterov and model.optimizer.learning_rate == 0.02
    assert model.layers[0].kernel_regularizer is not None
    assert type(build({"optimizer": "adamw"}).optimizer).__name__ == "AdamW"
    images = zoo.model_builder("mlp", (2, 2, 1), 3)({"hidden": 5})
    assert type(images.layers[0]).__name__ == "Flatten" and images.layers[1].units == 5
    with pytest.raises(ValueError, match="hiden: not a hyperparameter of the mlp model"):
        build({"hiden": 8})
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        build({"optimizer": "lbfgs"})
    with pytest.raises(ValueError, match="hidden: expected a positive int or a list"):
        build({"hidden": [8, 0]})
    with pytest.raises(ValueError, match="model: expected one of"):
        zoo.model_builder("rnn", (4,), 3)
    for name, lr in zoo.OPTIMIZERS.items():
        assert zoo.make_optimizer(name).current_learning_rate() == lr


def test_built_in_builders_with_optional_layers():
    if not hasattr(fastnn, "Dropout"):
        pytest.skip("fastnn.Dropout is not in this build yet")
    mlp = zoo.model_builder("mlp", (4,), 3)({"hidden": [8, 6], "dropout": 0.25})
    assert [type(l).__name__ for l in mlp.layers] == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    if not hasattr(fastnn, "Conv2D"):
        pytest.skip("fastnn.Conv2D is not in this build yet")
    cnn = zoo.model_builder("cnn", (8, 8, 1), 10)({"filters": [4, 4, 4, 4], "dense": 16, "dropout": 0.1})
    names = [type(l).__name__ for l in cnn.layers]
    assert names.count("MaxPooling2D") == 3  # 8 -> 4 -> 2 -> 1, then no more pooling
    assert names[-4:] == ["Flatten", "Dense", "Dropout", "Dense"] and cnn.output_shape == (10,)
    with pytest.raises(ValueError, match="input_shape: the cnn model needs images"):
        zoo.model_builder("cnn", (64,), 10)


def test_the_builders_are_still_reachable_from_tune():
    from fastnn import tune

    assert tune.model_builder is zoo.model_builder and tune.MODEL_KEYS is zoo.MODEL_KEYS
