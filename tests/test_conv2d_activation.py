"""Conv2D with its activation applied by the forward kernel (``ops.conv2d_forward(activation=...)``): every
path that writes the output (the CPU's narrow micro-kernel, its row-shift and full im2col GEMMs, the 1x1 GEMM,
the GPU's epilogue) against the reference, and the Conv2D layer, which trains through it, against the same
network with the activation as a layer of its own."""
import numpy as np
import pytest

import fastnn
from fastnn import layers, ops, reference as ref
from conftest import R, assert_close, numerical_grad, to_backend, to_numpy
from test_conv2d_narrow import CONFIGS as NARROW, IDS as NARROW_IDS, make

ACTIVATIONS = [a for a in ops.ACTIVATIONS if a != "linear"]

# Past the narrow kernels (C_in or C_out > 16) and the 1x1 case, which needs no im2col.
GENERAL = {
    "row-shift": (2, 12, 12, 20, 3, 3, 24, 1, "same", 1),
    "im2col": (2, 9, 9, 17, 3, 3, 18, 2, "same", 1),
    "1x1": (2, 6, 5, 20, 1, 1, 19, 1, "valid", 1),
    "1x1-strided": (2, 6, 5, 18, 1, 1, 17, 2, "same", 1),
}
# One shape per path for the activations beyond relu.
PATHS = {"narrow": (2, 9, 8, 3, 3, 3, 7, 1, "same", 1), **GENERAL}


def check(backend, dtype, rng, config, activation, alpha=0.01, workspace=None):
    """y = activation(conv + b), with and without a bias, against the reference."""
    N, H, W, C, KH, KW, CO, stride, padding, dilation = config
    x, Wt, b = make(rng, dtype, N, H, W, C, KH, KW, CO)
    geo = dict(stride=stride, padding=padding, dilation=dilation)
    bx, bW, bb = to_backend(backend, x, Wt, b)
    for bias, bbias in ((b, bb), (None, None)):
        y = ops.conv2d_forward(bx, bW, bbias, activation=activation, alpha=alpha, workspace=workspace,
                               backend=backend, **geo)
        assert_close(y, R(ref.conv2d_forward, x, Wt, bias, activation=activation, alpha=alpha, **geo), dtype)


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("config", NARROW, ids=NARROW_IDS)
def test_narrow_shapes_and_the_boundary(config, activation, dtype, backend, rng):
    """The narrow kernels' shapes (C_in 1-4, C_out 1-16, odd sizes, stride 2, 'same', dilation) and the
    dispatch boundary (16 narrow, 17 im2col + GEMM)."""
    check(backend, dtype, rng, config, activation)


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("C_out", [1, 4, 5, 8, 9, 16])
def test_every_lane_width(C_out, activation, dtype, backend, rng):
    """4, 8 and 16 lanes, with padding lanes that are computed but never stored."""
    check(backend, dtype, rng, (2, 7, 6, 2, 3, 3, C_out, 1, "same", 1), activation)


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("C", list(range(1, 17)))
def test_narrow_writes_nothing_past_its_outputs(C, activation, dtype, rng):
    """The CPU's narrow kernels store each pixel a full vector wide, the lanes past its channels spilling into the
    pixels after it (stored later): never past the output y, nor past dx (the backward's correlation pass, C_in
    channels wide). Both are views into arrays whose tails must stay untouched."""
    x, Wt, b = make(rng, dtype, 2, 4, 5, C, 2, 2, C)
    geo = dict(padding="same")
    shape, n = ops.conv2d_output_shape(x.shape, Wt.shape, **geo), x.size  # 'same', stride 1: y has x's size
    y_guard, dx_guard = np.full(n + 64, -7, dtype), np.full(n + 64, -7, dtype)
    y = ops.conv2d_forward(x, Wt, b, activation=activation, out=y_guard[:n].reshape(shape), **geo)
    assert_close(y, R(ref.conv2d_forward, x, Wt, b, activation=activation, **geo), dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    dx = ops.conv2d_backward(x, Wt, dy, dx=dx_guard[:n].reshape(x.shape), **geo)[0]
    assert_close(dx, R(ref.conv2d_backward, x, Wt, dy, **geo)[0], dtype)
    assert (y_guard[n:] == -7).all() and (dx_guard[n:] == -7).all()


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("path", list(GENERAL))
def test_general_paths(path, activation, dtype, backend, rng):
    check(backend, dtype, rng, GENERAL[path], activation)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("path", list(PATHS))
def test_every_activation_on_every_path(path, activation, dtype, backend, rng):
    """The same dispatch as the dense layer's: each activation, leaky_relu with a slope of its own."""
    check(backend, dtype, rng, PATHS[path], activation, alpha=0.2)


@pytest.mark.parametrize("path", ["narrow", "row-shift", "im2col"])
def test_small_workspaces(path, dtype, backend, rng):
    """The least workspace: the CPU falls back from the narrow kernels and cuts the GEMMs into one-row pieces,
    each piece activated as it is written; stale NaNs in the workspace must not leak."""
    N, H, W, C, KH, KW, CO, stride, padding, dilation = PATHS[path]
    least = ops.conv2d_workspace_size((N, H, W, C), (KH, KW, C, CO), stride=stride, padding=padding,
                                      dilation=dilation, dtype=dtype, max_bytes=1, backend=backend)
    check(backend, dtype, rng, PATHS[path], "relu", workspace=to_backend(backend, np.full(least, np.nan, dtype)))


@pytest.mark.parametrize("path", list(PATHS))
def test_relu_keeps_nan(path, backend, rng):
    """A NaN input reaches the outputs whose windows see it as NaN (activate's relu, not a max that drops it)."""
    N, H, W, C, KH, KW, CO, stride, padding, dilation = PATHS[path]
    x, Wt, b = make(rng, np.float64, N, H, W, C, KH, KW, CO)
    x[0, 2, 2, 0] = np.nan  # a pixel every stride reaches
    geo = dict(stride=stride, padding=padding, dilation=dilation)
    y = to_numpy(ops.conv2d_forward(*to_backend(backend, x, Wt, b), activation="relu", backend=backend, **geo))
    want = ref.conv2d_forward(x, Wt, b, activation="relu", **geo)
    assert np.isnan(want).any()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    assert_close(np.nan_to_num(y), np.nan_to_num(want), np.float64)


def test_linear_by_name_is_none(rng):
    x, Wt, b = make(rng, np.float64, 2, 7, 7, 2, 3, 3, 4)
    np.testing.assert_array_equal(ops.conv2d_forward(x, Wt, b, activation="linear"), ops.conv2d_forward(x, Wt, b))


def test_bad_activation_arguments(rng):
    x, Wt, b = make(rng, np.float64, 2, 7, 7, 2, 3, 3, 4)
    with pytest.raises(ValueError, match="activation: unknown activation 'softmax'"):
        ops.conv2d_forward(x, Wt, b, activation="softmax")
    with pytest.raises(TypeError, match="activation: expected a str, got 1"):
        ops.conv2d_forward(x, Wt, b, activation=1)
    with pytest.raises(TypeError, match="alpha: expected"):
        ops.conv2d_forward(x, Wt, b, activation="leaky_relu", alpha="0.1")


# -- the layer ---------------------------------------------------------------------------------------------

def cnn(activation, fused, device, dtype, alpha=None):
    """Conv2D(activation) twice (narrow, then past the narrow kernels' 16 channels) and a head; ``fused=False``
    puts each activation in an Activation layer after a linear Conv2D instead."""
    act = {} if alpha is None else dict(alpha=alpha)

    def conv(*args, **kwargs):
        if fused:
            return [layers.Conv2D(*args, activation=activation, **act, **kwargs)]
        return [layers.Conv2D(*args, **kwargs), layers.Activation(activation, **act)]

    return fastnn.Sequential([fastnn.Input(shape=(10, 9, 2)), *conv(6, 3), layers.MaxPooling2D(),
                              *conv(17, 3, padding="same"), layers.Flatten(), layers.Dense(3)],
                             device=device, dtype=dtype, seed=3)


DEVICES = ["cpu", pytest.param("cuda-emu", marks=pytest.mark.skipif(
    "cuda-emu" not in fastnn.backend.available(), reason="fastnn built without FASTNN_CUDA_EMU=ON"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "swish"])
def test_training_step_equals_the_unfused_layers(activation, device, dtype):
    """Outputs and every gradient of a training step, and the predictions, are those of Conv2D + Activation
    (relu, leaky_relu, sigmoid and tanh fused in training; softplus and swish, whose derivative needs the
    pre-activation, fused in inference only)."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 10, 9, 2)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    fused, plain = (cnn(activation, f, device, dtype, alpha=0.1) for f in (True, False))
    plain.set_weights(fused.get_weights())
    for m in (fused, plain):
        m.compile(optimizer="sgd", loss="mse")
    grad_from_output = activation in ("relu", "leaky_relu", "sigmoid", "tanh")
    assert fused.layers[0].kernel_activation(training=True) == (activation if grad_from_output else None)
    assert fused.layers[0].kernel_activation(training=False) == activation
    tol = 1e-12 if dtype == np.float64 else 1e-6
    outs, losses = fused.compute_gradients(x, y)
    want_outs, want_losses = plain.compute_gradients(x, y)
    assert_close(outs, to_numpy(want_outs), rtol=tol)
    assert_close(np.asarray(fused.flat_grads), np.asarray(plain.flat_grads), rtol=tol)
    assert_close(fused.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=tol)


def test_a_negative_leaky_slope_keeps_the_pre_activation():
    """a > 0 is z > 0 only for a slope >= 0: with a negative one the layer keeps z for the backward."""
    layer = layers.Conv2D(2, 3, activation="leaky_relu", alpha=-0.5)
    assert layer.kernel_activation(training=True) is None
    assert layer.kernel_activation(training=False) == "leaky_relu"


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_layer_gradient_is_the_numerical_gradient(activation):
    """float64: the kernel's gradient through the fused layer against central differences of the loss."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 6, 5, 2)), rng.standard_normal((3, 2))
    m = fastnn.Sequential([fastnn.Input(shape=(6, 5, 2)), layers.Conv2D(3, 3, padding="same", activation=activation),
                           layers.Flatten(), layers.Dense(2)], dtype="float64", seed=4)
    m.compile(optimizer="sgd", loss="mse")
    m.compute_gradients(x, y)
    n = 3 * 3 * 2 * 3 + 3  # the conv kernel and bias
    grads = np.array(m.flat_grads[:n])
    numerical = numerical_grad(lambda: m.evaluate(x, y, batch_size=len(x), verbose=0), m.flat_params[:n])
    np.testing.assert_allclose(grads, numerical, rtol=1e-6, atol=1e-9)
