"""Residual networks with the functional API: gradients, and a training trajectory equal to PyTorch's."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers
from fastnn.training.data import to_host

DEVICES = ["cpu", "cuda-emu"]


def available(device):
    if device not in keras.backend.available():
        pytest.skip(f"{device} is not available here")
    return device


def residual_block(x, filters, stride=1):
    """A basic block: two 3x3 convolutions with batch norm, and a 1x1 projection shortcut."""
    shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    return layers.ReLU()(layers.Add()([shortcut, y]))


def small_resnet(device="cpu", dtype="float64", classes=3):
    inputs = keras.Input(shape=(8, 8, 2))
    x = residual_block(inputs, 4)
    x = residual_block(x, 6, stride=2)
    outputs = layers.Dense(classes, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, device=device, dtype=dtype, seed=0)


@pytest.mark.parametrize("device", DEVICES)
def test_a_residual_network_gradient_matches_finite_differences_in_float64(device):
    model = small_resnet(available(device))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 8, 8, 2)), np.arange(6) % 3
    model.compute_gradients(x, y)
    grads = np.array(to_host(model.flat_grads))
    w = model.flat_params
    picks = rng.choice(len(w), 60, replace=False)  # every layer's weights are among them with high probability
    for i in picks:
        keep = float(w[i])
        w[i] = keep + 1e-5
        up = float(model.compute_gradients(x, y)[1].mean())
        w[i] = keep - 1e-5
        down = float(model.compute_gradients(x, y)[1].mean())
        w[i] = keep
        assert (up - down) / 2e-5 == pytest.approx(float(grads[i]), rel=1e-6, abs=1e-9), i


def test_twenty_steps_of_a_residual_network_equal_pytorch_in_float64():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.set_default_dtype(torch.float64)
    model = small_resnet()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.proj, self.proj_bn = nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, 1e-3, 0.01)
            # Keras' "same" with stride 2 on an even size pads one row/column after, none before
            self.pad = (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1)
            self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, bias=False), nn.BatchNorm2d(cout, 1e-3, 0.01)
            self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout, 1e-3, 0.01)

        def forward(self, x):
            y = self.b2(self.c2(torch.relu(self.b1(self.c1(nn.functional.pad(x, self.pad))))))
            return torch.relu(y + self.proj_bn(self.proj(x)))

    net = nn.Sequential(Block(2, 4, 1), Block(4, 6, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    # fastnn's layers in graph order: shortcut conv, its BN, conv1, BN1, conv2, BN2 (per block), then dense.
    convs = [l for l in model.leaves() if isinstance(l, layers.Conv2D)]
    bns = [l for l in model.leaves() if isinstance(l, layers.BatchNormalization)]
    dense = model.leaves()[-1]
    torch_convs = [m for b in net[:2] for m in (b.proj, b.c1, b.c2)]
    torch_bns = [m for b in net[:2] for m in (b.proj_bn, b.b1, b.b2)]
    with torch.no_grad():
        for ours, theirs in zip(convs, torch_convs):
            theirs.weight.copy_(torch.from_numpy(ours.params["W"].transpose(3, 2, 0, 1).copy()))
        net[4].weight.copy_(torch.from_numpy(dense.params["W"].T.copy()))
        net[4].bias.copy_(torch.from_numpy(dense.params["b"].copy()))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.normal(size=(8, 8, 8, 2)), rng.integers(0, 3, 8)
        ours = model.train_on_batch(x, y)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())), torch.from_numpy(y))
        loss.backward()
        opt.step()
        assert ours == pytest.approx(loss.item(), rel=1e-10)
    for ours, theirs in zip(convs, torch_convs):
        np.testing.assert_allclose(ours.params["W"], theirs.weight.detach().numpy().transpose(2, 3, 1, 0),
                                   rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(bns, torch_bns):
        np.testing.assert_allclose(ours.params["gamma"], theirs.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.params["moving_mean"], theirs.running_mean.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dense.params["W"], net[4].weight.detach().numpy().T, rtol=1e-10, atol=1e-12)
