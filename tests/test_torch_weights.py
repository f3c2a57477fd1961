"""PyTorch weights into fastnn models: predictions equal the PyTorch network's."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")


def test_a_cnn_with_batch_norm_predicts_like_pytorch(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():  # running statistics other than 0 and 1
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    net.eval()
    safetensors_torch.save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    model = keras.Sequential([keras.Input(shape=(8, 8, 2)), layers.Conv2D(4, 3), layers.BatchNormalization(epsilon=1e-5),
                              layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(8, activation="relu"),
                              layers.Dense(3)], dtype="float64")
    keras.utils.load_torch_state_dict(model, tmp_path / "net.safetensors")
    x = np.random.default_rng(0).standard_normal((5, 8, 8, 2))
    want = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).detach().numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-10, atol=1e-12)


def test_a_tensor_that_does_not_fit_is_named(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Linear(5, 2))
    safetensors_torch.save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(6), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"module '0' does not fit dense \(Dense\): its W needs shape \(4, 6\), "
                                         r"got shape \(4, 5\)"):
        keras.utils.load_torch_state_dict(model, tmp_path / "net.safetensors")
    short = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(5)])
    with pytest.raises(ValueError, match="has 2 modules with weights"):
        keras.utils.load_torch_state_dict(short, tmp_path / "net.safetensors")
