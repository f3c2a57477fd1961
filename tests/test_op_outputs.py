"""Output arrays that overlap inputs (checked at the binding boundary:
check_disjoint in csrc/common/tensor.h): an output that shares memory with an
array the kernel still reads is a ValueError naming both (by the names the
caller used: ``out``, ``dW``), never a silently wrong result; the in-place uses the
docstrings allow work."""
import numpy as np
import pytest

from fastnn import ops, reference as ref
from conftest import assert_close, to_backend, to_numpy


def cases(rng):
    """(label, call with an overlapping output, expected message) for ops whose kernels read
    an input after writing part of an output."""
    z = rng.standard_normal((4, 5))
    t = np.array([0, 3, 1, 4])
    x, W = rng.standard_normal((6, 6)), rng.standard_normal((6, 6))
    img, K = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 3))
    dy_img = rng.standard_normal((2, 6, 6, 3))
    return [
        ("softmax_ce probs=logits", lambda: ops.softmax_cross_entropy_forward(z, t, probs=z), "probs: must not overlap logits"),
        ("hinge_backward out=scores", lambda: ops.hinge_backward(z, t, out=z), "out: must not overlap scores"),
        ("dense_forward out=x", lambda: ops.dense_forward(x, W, out=x), "out: must not overlap x"),
        ("dense_forward out=W[:, :]", lambda: ops.dense_forward(x, W, out=W[:, :]), "out: must not overlap W"),
        ("dense_backward dW=W", lambda: ops.dense_backward(x, W, rng.standard_normal((6, 6)), dW=W), "dW: must not overlap W"),
        ("dense_backward dx=dW", lambda: ops.dense_backward(x, W, x.copy(), dx=(buf := np.empty((6, 6))), dW=buf),
         "dW: must not overlap dx"),
        ("max_pool out=x", lambda: ops.max_pool2d_forward(img, 3, strides=1, padding="same", out=img), "out: must not overlap x"),
        ("conv2d_forward out=x", lambda: ops.conv2d_forward(img, K, padding="same", out=img), "out: must not overlap x"),
        ("conv2d_backward dW=W", lambda: ops.conv2d_backward(img, K, dy_img, padding="same", dW=K), "dW: must not overlap W"),
        ("conv2d workspace=x", lambda: ops.conv2d_forward(img, K, padding="same", workspace=img.reshape(-1)),
         "workspace: must not overlap x"),
        ("prelu dalpha=alpha", lambda: ops.prelu_backward(z, (a := np.full(5, 0.1)), z.copy(), dalpha=a),
         "dalpha: must not overlap alpha"),
        ("mse_forward out=pred's first 4", lambda: ops.mse_forward(z, z.copy(), out=z.reshape(-1)[:4]),
         "out: must not overlap pred"),
    ]


@pytest.mark.parametrize("index", range(12))
def test_an_output_overlapping_an_input_is_an_error(index, rng):
    label, call, message = cases(rng)[index]
    with pytest.raises(ValueError, match=message):
        call()


def test_documented_in_place_uses_work(backend, rng):
    """out=input where the docstrings allow it: the result equals the out-of-place one."""
    x = rng.standard_normal((4, 6))
    t = np.array([0, 5, 1, 2])
    for label, fn, args, out_index in [
        ("activation_backward out=da", lambda z, a, da, out: ops.activation_backward("tanh", z, a, da, out=out, backend=backend),
         (x, np.tanh(x), rng.standard_normal((4, 6))), 2),
        ("softmax_backward out=dy", lambda y, dy, out: ops.softmax_backward(y, dy, out=out, backend=backend),
         (ref.softmax_forward(x), rng.standard_normal((4, 6))), 1),
        ("softmax_backward out=y", lambda y, dy, out: ops.softmax_backward(y, dy, out=out, backend=backend),
         (ref.softmax_forward(x), rng.standard_normal((4, 6))), 0),
        ("softmax_ce_backward out=probs", lambda p, tt, out: ops.softmax_cross_entropy_backward(p, tt, out=out, backend=backend),
         (ref.softmax_forward(x), t), 0),
        ("mse_backward out=pred", lambda p, tt, out: ops.mse_backward(p, tt, out=out, backend=backend),
         (x, rng.standard_normal((4, 6))), 0),
        ("prelu_backward dx=dy", lambda xx, a, dy, out: ops.prelu_backward(xx, a, dy, dx=out, backend=backend)[0],
         (x, np.full(6, 0.2), rng.standard_normal((4, 6))), 2),
    ]:
        args = [to_backend(backend, a) for a in args]
        expected = to_numpy(fn(*args, None))
        out = args[out_index]
        assert fn(*args, out) is out, label
        assert_close(out, expected, np.float64)
