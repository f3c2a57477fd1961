"""The merge ops and layers (Add, Subtract, Multiply, Average, Maximum, Concatenate) against
fastnn.reference, their gradients against numerical ones, and their errors."""
import numpy as np
import pytest

from fastnn import layers, ops, reference as ref
from fastnn import backend as fbackend
from conftest import R, assert_close, numerical_grad, to_backend, to_numpy

SHAPES = [(7,), (3, 5), (2, 4, 4, 3), (3000, 7)]  # the last: several blocks and threads
KINDS = ["add", "average", "multiply", "maximum"]


def inputs(rng, shape, count, dtype, ties=False):
    """count arrays of shape; with ties, small integers, so that maxima tie often."""
    if ties:
        return [rng.integers(-2, 3, shape).astype(dtype) for _ in range(count)]
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_elementwise_merge_matches_reference(kind, count, shape, dtype, backend, rng):
    xs = inputs(rng, shape, count, dtype, ties=kind == "maximum" and len(shape) == 2)
    y = getattr(ops, f"{kind}_forward")(list(to_backend(backend, *xs)), backend=backend)
    assert_close(y, R(getattr(ref, f"{kind}_forward"), xs), dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    if kind in ("multiply", "maximum"):
        grads = getattr(ops, f"{kind}_backward")(list(to_backend(backend, *xs)), to_backend(backend, dy),
                                                 backend=backend)
        expected = getattr(ref, f"{kind}_backward")([x.astype(np.float64) for x in xs], dy.astype(np.float64))
        assert len(grads) == count
        for g, e in zip(grads, expected):
            assert_close(g, e, dtype)
    if kind == "average":
        assert_close(ops.average_backward(to_backend(backend, dy), count, backend=backend),
                     R(ref.average_backward, dy, count), dtype)


@pytest.mark.parametrize("shape", SHAPES)
def test_subtract_matches_reference(shape, dtype, backend, rng):
    a, b, dy = inputs(rng, shape, 3, dtype)
    assert_close(ops.subtract_forward(*to_backend(backend, a, b), backend=backend), R(ref.subtract_forward, a, b), dtype)
    assert_close(ops.subtract_backward(to_backend(backend, dy), backend=backend), R(ref.subtract_backward, dy), dtype)


def test_maximum_ties_go_to_the_first_input_holding_the_max(backend):
    xs = [np.array([1.0, 2.0, 5.0, -1.0, np.nan, 0.0]), np.array([1.0, 3.0, 5.0, -1.0, 7.0, np.nan]),
          np.array([0.0, 3.0, 5.0, -1.0, np.nan, np.nan])]
    dy = np.arange(1.0, 7.0)
    winners = [0, 1, 0, 0, 0, 1]  # ties: the earliest input; NaN: the first NaN (numpy.argmax)
    grads = ops.maximum_backward(list(to_backend(backend, *xs)), to_backend(backend, dy), backend=backend)
    for i, g in enumerate(grads):
        np.testing.assert_array_equal(to_numpy(g), np.where(np.array(winners) == i, dy, 0.0))
        np.testing.assert_array_equal(to_numpy(g), ref.maximum_backward(xs, dy)[i])
    y = to_numpy(ops.maximum_forward(list(to_backend(backend, *xs)), backend=backend))
    np.testing.assert_array_equal(y, ref.maximum_forward(xs))  # NaN propagates, as numpy.maximum


def test_multiply_gradient_with_zeros_is_exact(backend):
    xs = [np.array([0.0, 2.0, 0.0]), np.array([3.0, 0.0, 0.0]), np.array([5.0, 7.0, 11.0])]
    grads = ops.multiply_backward(list(to_backend(backend, *xs)), to_backend(backend, np.ones(3)), backend=backend)
    expected = [[15.0, 0.0, 0.0], [0.0, 14.0, 0.0], [0.0, 0.0, 0.0]]
    for g, e in zip(grads, expected):
        np.testing.assert_array_equal(to_numpy(g), e)


CONCAT_CASES = [  # (shapes, axis): 2-D and NHWC along channels (-1 and 3), rows (1), columns (2) and the batch (0)
    ([(4, 3), (4, 5)], -1), ([(4, 3), (2, 3), (1, 3)], 0), ([(4, 3), (4, 1), (4, 2)], 1),
    ([(2, 3, 4, 3), (2, 3, 4, 5)], -1), ([(2, 3, 4, 1), (2, 3, 4, 2), (2, 3, 4, 4)], 3),
    ([(2, 3, 4, 3), (2, 1, 4, 3)], 1), ([(2, 3, 4, 3), (2, 3, 2, 3), (2, 3, 1, 3)], 2),
    ([(64, 16, 16, 8), (64, 16, 16, 24)], -1),  # large enough for the threads
]


@pytest.mark.parametrize("shapes,axis", CONCAT_CASES)
def test_concatenate_matches_reference(shapes, axis, dtype, backend, rng):
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    y = ops.concatenate_forward(list(to_backend(backend, *xs)), axis, backend=backend)
    assert_close(y, R(ref.concatenate_forward, xs, axis=axis), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    sizes = [s[axis] for s in shapes]
    grads = ops.concatenate_backward(to_backend(backend, dy), sizes, axis, backend=backend)
    for g, e in zip(grads, ref.concatenate_backward(dy.astype(np.float64), sizes, axis=axis)):
        assert_close(g, e, dtype)


def test_outputs_are_written_into_given_buffers(backend, rng):
    xs = list(to_backend(backend, *inputs(rng, (3, 4), 3, np.float64)))
    out = to_backend(backend, np.empty((3, 4)))
    assert ops.add_forward(xs, out=out, backend=backend) is out
    dy = to_backend(backend, rng.standard_normal((3, 4)))
    outs = [to_backend(backend, np.empty((3, 4))) for _ in range(3)]
    assert ops.multiply_backward(xs, dy, out=outs, backend=backend) is outs
    assert_close(outs[2], to_numpy(dy) * to_numpy(xs[0]) * to_numpy(xs[1]), np.float64)
    assert ops.average_backward(dy, 3, out=dy, backend=backend) is dy  # in place is allowed here


def test_sixty_four_inputs_at_most(rng):
    xs = inputs(rng, (5,), 64, np.float64)
    assert_close(ops.add_forward(xs), ref.add_forward(xs), np.float64)
    with pytest.raises(ValueError, match="xs: expected at most 64 arrays, got 65"):
        ops.add_forward(xs + xs[:1])


def test_op_errors_name_the_argument(rng):
    x, x5 = np.ones((3, 4)), np.ones((3, 5))
    cases = [
        (TypeError, "xs: expected a list of arrays, got ndarray", lambda: ops.add_forward(x)),
        (ValueError, "xs: expected at least 1 array, got an empty list", lambda: ops.maximum_forward([])),
        (TypeError, "xs: item 1 is a float", lambda: ops.add_forward([x, 1.0])),
        (ValueError, r"xs: item 1 has shape \(3, 5\), item 0 has \(3, 4\)", lambda: ops.multiply_forward([x, x5])),
        (TypeError, "xs: item 1 has dtype float32, item 0 has float64",
         lambda: ops.add_forward([x, x.astype(np.float32)])),
        (TypeError, "xs: expected float32 or float64, got int64", lambda: ops.add_forward([np.ones(3, np.int64)] * 2)),
        (ValueError, "out: must not overlap xs", lambda: ops.add_forward([x, x.copy()], out=x)),
        (ValueError, r"out: expected shape \(3, 4\) like xs", lambda: ops.average_forward([x, x], out=x5)),
        (ValueError, r"b: expected shape \(3, 4\) like a, got \(3, 5\)", lambda: ops.subtract_forward(x, x5)),
        (TypeError, "b: expected dtype float64 like a, got float32",
         lambda: ops.subtract_forward(x, x.astype(np.float32))),
        (ValueError, r"dy: expected shape \(3, 4\) like xs", lambda: ops.maximum_backward([x, x], x5)),
        (TypeError, "out: expected a list of arrays", lambda: ops.maximum_backward([x, x], x, out=x.copy())),
        (ValueError, "out: expected 2 arrays like xs, got 1", lambda: ops.multiply_backward([x, x], x, out=[x.copy()])),
        (ValueError, "out: must not overlap dy", lambda: ops.multiply_backward([x, x.copy()], (d := x * 2),
                                                                              out=[d, x.copy()])),
        (ValueError, "n: expected an int in", lambda: ops.average_backward(x, 0)),
        (ValueError, r"axis: expected an axis in \[-2, 2\)", lambda: ops.concatenate_forward([x, x5], 2)),
        (ValueError, "xs: item 1 has shape .* they must match except along axis 0",
         lambda: ops.concatenate_forward([x, x5], 0)),
        (ValueError, "sizes: .* add up to 6, but dy has 4 along axis 1", lambda: ops.concatenate_backward(x, [3, 3])),
        (ValueError, "sizes: expected an int >= 0", lambda: ops.concatenate_backward(x, [5, -1])),
        (ValueError, "out: must not overlap dy", lambda: ops.concatenate_backward(x, [4], out=[x])),
    ]
    for error, message, call in cases:
        with pytest.raises(error, match=message):
            call()


# ---- layers ------------------------------------------------------------------------------------

LAYERS = [(layers.Add, {}, 3), (layers.Subtract, {}, 2), (layers.Multiply, {}, 3), (layers.Average, {}, 3),
          (layers.Maximum, {}, 3), (layers.Concatenate, {}, 3), (layers.Concatenate, {"axis": 1}, 2),
          (layers.Concatenate, {"axis": 2}, 3)]


def built(cls, kwargs, shapes, be, dtype=np.float64):
    layer = cls(**kwargs)
    layer.attach(be, np.dtype(dtype))
    layer.output_shape = tuple(layer.build([s[1:] for s in shapes]))
    return layer


def concat_shapes(axis, count):
    base = (2, 3, 4, 2)
    return [base[:axis] + (i + 1,) + base[axis + 1:] for i in range(count)]


def layer_shapes(cls, kwargs, count):
    return concat_shapes(kwargs.get("axis", -1) % 4, count) if cls is layers.Concatenate else [(2, 3, 4, 2)] * count


@pytest.mark.parametrize("cls,kwargs,count", LAYERS)
def test_layer_backward_is_the_numerical_gradient(cls, kwargs, count, rng):
    shapes = layer_shapes(cls, kwargs, count)
    layer = built(cls, kwargs, shapes, fbackend.get("cpu"))
    xs = [rng.standard_normal(s) for s in shapes]
    y = layer.forward(xs)
    assert y.shape == (2,) + layer.output_shape
    w = rng.standard_normal(y.shape)
    grads = [np.array(g) for g in layer.backward(w)]
    assert len(grads) == count
    for x, g in zip(xs, grads):
        np.testing.assert_allclose(g, numerical_grad(lambda: float((layer.forward(xs) * w).sum()), x),
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("cls,kwargs,count", LAYERS)
def test_layer_matches_reference_and_reuses_buffers(cls, kwargs, count, dtype, backend, rng):
    shapes = layer_shapes(cls, kwargs, count)
    layer = built(cls, kwargs, shapes, backend, dtype)
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    kind, axis = cls.__name__.lower(), kwargs.get("axis", -1)
    forward, x64 = getattr(ref, f"{kind}_forward"), [x.astype(np.float64) for x in xs]
    y = layer.forward(list(to_backend(backend, *xs)))
    assert_close(y, forward(*x64) if kind == "subtract" else forward(x64, axis) if kind == "concatenate"
                 else forward(x64), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    grads = layer.backward(to_backend(backend, dy))
    d64 = dy.astype(np.float64)
    want = {"add": lambda: [d64] * count, "subtract": lambda: [d64, -d64],
            "average": lambda: [ref.average_backward(d64, count)] * count,
            "multiply": lambda: ref.multiply_backward(x64, d64), "maximum": lambda: ref.maximum_backward(x64, d64),
            "concatenate": lambda: ref.concatenate_backward(d64, [s[axis] for s in shapes], axis)}[kind]()
    for g, e in zip(grads, want):
        assert_close(g, e, dtype)
    assert layer.forward(list(to_backend(backend, *xs))) is y  # the same buffer: no allocation per step


def test_layer_build_errors_name_the_layer_and_shapes():
    cases = [
        (layers.Add(name="skip"), [(3, 4), (3, 5)], r"skip: Add needs inputs of one shape .*\[\(3, 4\), \(3, 5\)\]"),
        (layers.Multiply(), [(3,), (3, 1)], r"Multiply: Multiply needs inputs of one shape"),
        (layers.Subtract(name="diff"), [(3,)] * 3, "diff: Subtract should be called on exactly 2 inputs, got 3"),
        (layers.Subtract(), [(3,)], "Subtract: Subtract should be called on exactly 2 inputs, got 1"),
        (layers.Maximum(), [], "Maximum: Maximum should be called on 1 to 64 inputs, got 0"),
        (layers.Average(), (3, 4), r"Average: Average should be called on a list of inputs, got input shapes \(3, 4\)"),
        (layers.Concatenate(name="cat"), [(4, 4, 3), (4, 5, 3)],
         r"cat: Concatenate requires inputs with matching shapes except for the concatenation axis -1, "
         r"got shapes \[\(4, 4, 3\), \(4, 5, 3\)\]"),
        (layers.Concatenate(axis=0), [(4, 3), (4, 3)], "axis: Concatenate cannot concatenate along the batch axis"),
        (layers.Concatenate(axis=3), [(4, 3), (4, 3)], r"axis: expected an axis in \[-3, 3\)"),
    ]
    for layer, shapes, message in cases:
        with pytest.raises(ValueError, match=message):
            layer.build(shapes)
    with pytest.raises(TypeError, match="axis: expected an int, got float"):
        layers.Concatenate(axis=1.0)


def test_layer_configs_rebuild_the_layers():
    assert layers.Concatenate(axis=1, name="cat").get_config()["axis"] == 1
    for cls in (layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum, layers.Concatenate):
        config = cls(name="m").get_config()
        assert type(clone := layers.registry()[cls.__name__](**config)) is cls and clone.get_config() == config
    assert layers.Concatenate().axis == -1  # Keras' default


def test_single_input_merges_pass_it_through(rng):
    """Keras 3 accepts a list of one input (Add()([x]) is x); so does fastnn."""
    x = rng.standard_normal((2, 3))
    for cls in (layers.Add, layers.Multiply, layers.Average, layers.Maximum, layers.Concatenate):
        layer = built(cls, {}, [x.shape], fbackend.get("cpu"))
        np.testing.assert_array_equal(layer.forward([x]), x)
        np.testing.assert_array_equal(layer.backward(x)[0], x)
