"""Fused optimizer updates over a contiguous parameter range, and max-norm.

A model keeps all its parameters in one flat buffer, their gradients in a
second and each optimizer state in others; a parameter *group* is a
contiguous slice of those buffers with its own hyperparameters, and one call
here updates the whole group in one pass.
"""
from .._native import _C
from ._util import integer, prepare, real, text

# The optimizer kinds and the state arrays each keeps, read from the native
# table (FASTNN_OPTIMIZERS in csrc/common/optimizer_math.h), in its order.
OPTIMIZERS = tuple(name for name, _ in _C.optimizer_kinds())
STATE_COUNT = dict(_C.optimizer_kinds())


def optimizer_update(kind, w, g, s1=None, s2=None, *, lr, rho=0.0, beta2=0.0, eps=0.0, l1=0.0, l2=0.0,
                     weight_decay=0.0, step=1, backend=None):
    """One optimizer step on the 1-D parameter range ``w``, in place.

    Update rules (``g`` first becomes ``g + l2 w + l1 sign(w)``):

    * ``sgd``: ``w -= lr g``
    * ``momentum``: ``v = rho v + g; w -= lr v`` (textbook form; v in s1)
    * ``momentum_avg``: ``v = rho v + (1 - rho) g; w -= lr v`` (averaged form)
    * ``nesterov``: ``v = rho v + g; w -= lr (g + rho v)``
    * ``adagrad``: ``s += g^2; w -= lr g / (sqrt(s) + eps)``
    * ``adadelta``: ``s = rho s + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(s + eps) g;
      u = rho u + (1 - rho) d^2; w -= lr d`` (s in s1, u in s2)
    * ``rmsprop``: ``s = rho s + (1 - rho) g^2; w -= lr g / (sqrt(s) + eps)``
    * ``adam``: ``m = rho m + (1 - rho) g; v = beta2 v + (1 - beta2) g^2;
      w -= lr (m / (1 - rho^t)) / (sqrt(v / (1 - beta2^t)) + eps)`` with t = ``step``
    * ``adamw``: adam (kept as a name for AdamW)
    * ``nadam``: Keras 3's Nadam: m, v as adam; ``u_t = rho (1 - 0.96^t / 2)``, ``P_t = u_1 ... u_t``;
      ``w -= lr (u_{t+1} m / (1 - P_{t+1}) + (1 - u_t) g / (1 - P_t)) / (sqrt(v / (1 - beta2^t)) + eps)``
    * ``adamax``: ``m = rho m + (1 - rho) g; u = max(beta2 u, |g|); w -= lr m / ((1 - rho^t) (u + eps))``

    Every kind first applies decoupled weight decay, ``w -= lr weight_decay w``
    (Keras 3's ``weight_decay``), before its update.

    ``lr`` is passed every step, so schedules need nothing else. ``s1``/``s2``
    are the optimizer state arrays (``STATE_COUNT[kind]`` of them), updated in place.
    """
    text("kind", kind), integer("step", step, lo=1, hi=2**62, expected="the 1-based step number, an int >= 1")
    for name, value in (("lr", lr), ("rho", rho), ("beta2", beta2), ("eps", eps), ("l1", l1), ("l2", l2),
                        ("weight_decay", weight_decay)):
        real(name, value)
    be, g = prepare(backend, g)
    for name, a in (("w", w), ("s1", s1), ("s2", s2)):
        if a is not None and (not be.owns(a) or not a.flags.c_contiguous):
            raise ValueError(f"{name}: expected a C-contiguous array of the backend (it is updated in place)")
    be.kernels.optimizer_update(kind, w, g, s1, s2, lr=lr, rho=rho, beta2=beta2, eps=eps, l1=l1, l2=l2,
                                weight_decay=weight_decay, step=step)


def ema_update(average, w, decay, *, backend=None):
    """Update the moving average of the weights in place, in one pass:
    ``average = decay * average + (1 - decay) * w`` (Keras's ``use_ema``).

    ``average`` and ``w`` are 1-D arrays of the backend with the same shape
    and dtype; ``average`` must be C-contiguous (it is updated in place) and
    must not overlap ``w``. ``decay`` is in [0, 1). Returns ``average``.
    """
    real("decay", decay)
    be, w = prepare(backend, w)
    if not be.owns(average) or not average.flags.c_contiguous:
        raise ValueError("average: expected a C-contiguous array of the backend (it is updated in place)")
    be.kernels.ema_update(average, w, decay)
    return average


def max_norm_project(w, max_norm, *, backend=None):
    """Constrain ``w`` in place: each unit's incoming weights (a column of ``w``
    reshaped to (fan_in, units), units = last axis) get L2 norm at most ``max_norm``."""
    real("max_norm", max_norm)
    be = prepare(backend, w)[0]
    if not be.owns(w) or not w.flags.c_contiguous:
        raise ValueError("w: expected a C-contiguous array of the backend (it is updated in place)")
    if w.size == 0:
        raise ValueError(f"w: expected a non-empty array, got shape {w.shape}")
    cols = w.shape[-1] if w.ndim else 1
    be.kernels.max_norm_project(w.reshape(-1), w.size // max(cols, 1), cols, max_norm)
