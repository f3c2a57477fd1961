"""Optimizers as objects over the model's flat parameter buffer.

Every step is one fused kernel call per parameter group (a contiguous range
of parameters sharing hyperparameters: learning-rate multiplier, L1, L2),
with regularization and Keras 3's decoupled ``weight_decay`` folded into the
same pass; see ``fastnn.ops.optimizer_update`` for the exact update rules.
Keras' ``clipnorm`` (per parameter tensor), ``global_clipnorm`` and
``clipvalue`` are one more native pass over the flat gradient buffer
(``fastnn.ops.clip_gradients``), before the step. Keras' ``use_ema`` keeps
the model's moving average of the weights (``Parameters.average``, one
native ``ops.ema_update`` pass after each step); ``fit`` ends by writing it
over the weights (``finalize_variable_values``), as Keras does.
"""
from __future__ import annotations

import json

import numpy as np

from . import ops, schedules
from ._checks import boolean, integer, number

_CLIP_ARGS = ("clipnorm", "clipvalue", "global_clipnorm")
_EMA_ARGS = ("use_ema", "ema_momentum", "ema_overwrite_frequency")


class Optimizer:
    """Base class. ``learning_rate`` is a float or a schedule: a callable
    mapping the 0-based step number to a learning rate.

    Every optimizer takes Keras 3's common arguments, in its order: ``weight_decay``,
    ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``use_ema``, ``ema_momentum``,
    ``ema_overwrite_frequency``. With ``use_ema=True`` the optimizer keeps, after every
    step, ``average = ema_momentum * average + (1 - ema_momentum) * w`` of the weights
    (the first step starts it at ``w``); every ``ema_overwrite_frequency`` steps, if set,
    and at the end of ``fit`` (``finalize_variable_values``) the trainable weights are
    overwritten with it. The average is the model's ``average_params``, so
    ``evaluate(..., use_average=True)`` and ``model.averaged_weights()`` see it too.
    """

    kind = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, **hyper):
        if not callable(learning_rate):
            learning_rate = number("learning_rate", learning_rate, lo=0, lo_open=True,
                                   expected="a positive number or a schedule")
        self.learning_rate = learning_rate
        self.weight_decay = None if weight_decay is None else number("weight_decay", weight_decay, lo=0)
        clips = {k: v for k, v in zip(_CLIP_ARGS, (clipnorm, clipvalue, global_clipnorm)) if v is not None}
        if len(clips) > 1:
            raise ValueError(f"{', '.join(clips)}: only one of clipnorm, clipvalue and global_clipnorm can be set")
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if v is None else number(k, v, lo=0, lo_open=True) for k, v in
            zip(_CLIP_ARGS, (clipnorm, clipvalue, global_clipnorm)))
        self.use_ema = boolean("use_ema", use_ema)
        self.ema_momentum = number("ema_momentum", ema_momentum, lo=0, hi=1)
        self.ema_overwrite_frequency = None if ema_overwrite_frequency is None else integer(
            "ema_overwrite_frequency", ema_overwrite_frequency, lo=1, expected="an int >= 1 or None")
        self.hyper = {**hyper, "weight_decay": self.weight_decay or 0.0}
        self.iterations = 0  # steps taken
        self.state = []      # flat state arrays, parallel to the parameter buffer
        self._clip_plan = None

    def current_learning_rate(self) -> float:
        """The learning rate of the next step: the float, or the schedule at the current iteration."""
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def build(self, parameters):
        """Allocate the optimizer state beside a model's flat parameter buffer (``models.parameters.Parameters``)."""
        n = ops.STATE_COUNT[self.kind]
        flat = parameters.params
        if len(self.state) != n or (n and self.state[0].shape != flat.shape):
            self.state = [parameters.backend.zeros(flat.shape, flat.dtype) for _ in range(n)]

    def apply(self, parameters):
        """One update of every trainable parameter group from the gradients in ``parameters.grads``."""
        lr = self.current_learning_rate()  # the schedule sees the 0-based step
        self.iterations += 1
        s, w, g = self.state, parameters.params, parameters.grads
        clipped = self._clip(parameters)  # the penalties' gradients are in g now
        for group in parameters.groups:
            sl = slice(group.start, group.stop)
            ops.optimizer_update(self.kind, w[sl], g[sl], s[0][sl] if len(s) > 0 else None,
                                 s[1][sl] if len(s) > 1 else None, lr=lr * group.lr_multiplier,
                                 l1=0.0 if clipped else group.l1, l2=0.0 if clipped else group.l2,
                                 step=self.iterations, backend=parameters.backend, **self.hyper)
        if self.use_ema:
            self._update_average(parameters)

    def _update_average(self, parameters):
        """Keras' EMA step: at the optimizer's first step the average starts at the weights (Keras' momentum
        0 then), later it moves by ``ema_momentum``; every ``ema_overwrite_frequency`` steps it replaces them."""
        average = parameters.average
        if self.iterations == 1 or average is None or average.shape != parameters.params.shape:
            parameters.start_average(restart=True)
        else:
            parameters.update_average(self.ema_momentum)
        if self.ema_overwrite_frequency and self.iterations % self.ema_overwrite_frequency == 0:
            parameters.overwrite_with_average()

    def finalize_variable_values(self, var_list):
        """Called by ``fit`` when it ends (as Keras' trainer does): with ``use_ema``, the trainable weights
        become their moving average; otherwise nothing.

        fastnn differs on purpose: ``var_list`` is the model's flat parameters
        (``model.parameters``), not a list of variables, since the optimizer works on the flat buffer.
        """
        if self.use_ema and var_list.average is not None:
            var_list.overwrite_with_average()

    def _clip(self, parameters):
        """Clip the gradients as Keras does, if asked (True then); one native call over the flat buffer."""
        mode = next((k for k in _CLIP_ARGS if getattr(self, k) is not None), None)
        if mode is None:
            return False
        plan = self._clip_plan
        if plan is None or plan[0] is not parameters or plan[1] is not parameters.groups:
            plan = self._clip_plan = (parameters, parameters.groups, *self._clip_arrays(parameters))
        ranges, l1, l2, sq = plan[2:]
        ops.clip_gradients(parameters.params, parameters.grads, ranges, l1, l2, mode=mode, clip=getattr(self, mode),
                           sq=sq, backend=parameters.backend)
        return True

    @staticmethod
    def _clip_arrays(parameters):
        """One range per trainable parameter tensor (Keras clips per variable) with its penalty coefficients."""
        rows = [(start, stop, *(spec.regularizer.grad_coefficients if spec.regularizer else (0.0, 0.0)))
                for layer, spec, start, stop in parameters.slots if layer.trainable]
        rows.sort()
        xp, dtype = parameters.backend.xp, parameters.params.dtype
        ranges = np.array([r[:2] for r in rows], np.int64).reshape(-1, 2)
        l1 = np.array([r[2] for r in rows], dtype)
        l2 = np.array([r[3] for r in rows], dtype)
        return xp.asarray(ranges), xp.asarray(l1), xp.asarray(l2), parameters.backend.zeros((len(rows),), np.float64)

    def get_config(self):
        """Constructor arguments that rebuild this optimizer (saved with a compiled model).

        Raises TypeError for a learning rate that cannot be saved: only a float
        or a ``fastnn.schedules.Schedule`` with a JSON config can.
        """
        return {"class_name": type(self).__name__, "learning_rate": self._learning_rate_config(), **self._args(),
                **self._common_args()}

    def _learning_rate_config(self):
        lr = self.learning_rate
        if isinstance(lr, schedules.Schedule):
            cfg = lr.get_config()
            try:
                json.dumps(cfg)
            except (TypeError, ValueError) as e:
                raise TypeError(f"learning_rate: the config of {type(lr).__name__} cannot be saved ({e}); store its "
                                f"arguments as plain numbers or override get_config") from None
            return cfg
        if callable(lr):
            raise TypeError(f"learning_rate: a plain callable ({getattr(lr, '__name__', type(lr).__name__)}) "
                            f"cannot be saved; use a fastnn.schedules schedule, or a float, to make the model "
                            f"saveable")
        return float(lr)

    def _args(self):
        return {}

    def _common_args(self):
        return {"weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm, "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency}


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    ``momentum`` > 0 uses the textbook velocity v = momentum v + g (or the
    averaged form v = momentum v + (1 - momentum) g with ``averaged=True``);
    ``nesterov=True`` evaluates the step at the look-ahead point.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, *, averaged=False):
        momentum = _decay("momentum", momentum)
        nesterov, averaged = boolean("nesterov", nesterov), boolean("averaged", averaged)
        if nesterov and momentum == 0:
            raise ValueError("nesterov: needs momentum > 0")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, rho=momentum)
        self.momentum, self.nesterov, self.averaged = momentum, nesterov, averaged
        self.kind = ("nesterov" if nesterov else "momentum_avg" if averaged else "momentum") if momentum else "sgd"

    def _args(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov, "averaged": self.averaged}


class Adagrad(Optimizer):
    """Adagrad: per-weight steps shrink with the sum of that weight's squared gradients."""

    kind = "adagrad"

    def __init__(self, learning_rate=0.01, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, eps=_epsilon(epsilon))

    def _args(self):
        return {"epsilon": self.hyper["eps"]}


class Adadelta(Optimizer):
    """Adadelta: steps scaled by RMS(past updates) / RMS(gradients); ``learning_rate`` 1.0 is the paper's rule."""

    kind = "adadelta"

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, rho=_decay("rho", rho), eps=_epsilon(epsilon))

    def _args(self):
        return {"rho": self.hyper["rho"], "epsilon": self.hyper["eps"]}


class RMSprop(Optimizer):
    """RMSProp: divide each step by a moving RMS of recent gradients (decay ``rho``)."""

    kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, rho=_decay("rho", rho), eps=_epsilon(epsilon))

    def _args(self):
        return {"rho": self.hyper["rho"], "epsilon": self.hyper["eps"]}


class Adam(Optimizer):
    """Adam: momentum (``beta_1``) plus RMSProp (``beta_2``), both bias-corrected."""

    kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
                         ema_overwrite_frequency, rho=_decay("beta_1", beta_1), beta2=_decay("beta_2", beta_2),
                         eps=_epsilon(epsilon))

    def _args(self):
        return {"beta_1": self.hyper["rho"], "beta_2": self.hyper["beta2"], "epsilon": self.hyper["eps"]}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w -= lr * weight_decay * w`` each step, apart from the gradient
    (every optimizer takes ``weight_decay``; AdamW's default is Keras' 0.004)."""

    kind = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         use_ema, ema_momentum, ema_overwrite_frequency)


class Nadam(Adam):
    """Nadam (Keras 3's form): Adam with Nesterov momentum and Dozat's momentum schedule
    ``u_t = beta_1 (1 - 0.96^t / 2)``."""

    kind = "nadam"


class Adamax(Adam):
    """Adamax: Adam with the infinity norm, ``u = max(beta_2 u, |g|)``, in place of the RMS of the gradients."""

    kind = "adamax"


def _decay(name, value):
    """A moving-average decay (momentum, rho, beta): a float in [0, 1)."""
    return number(name, value, lo=0, hi=1, hi_open=True)


def _epsilon(value):
    """The epsilon added to a denominator: a float > 0, or the first steps could divide by zero."""
    return number("epsilon", value, lo=0, lo_open=True)


_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "adadelta": Adadelta, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
            "nadam": Nadam, "adamax": Adamax}


def get(optimizer):
    """An optimizer from its name (default hyperparameters) or an Optimizer instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in _BY_NAME:
        return _BY_NAME[optimizer.lower()]()
    if isinstance(optimizer, dict):
        cfg = dict(optimizer)
        classes = {c.__name__: c for c in _BY_NAME.values()}
        name = cfg.pop("class_name", None)
        if name not in classes:
            raise ValueError(f"optimizer: unknown class_name {name!r}; known: {', '.join(sorted(classes))}")
        lr = cfg.pop("learning_rate")
        return classes[name](learning_rate=schedules.get(lr) if isinstance(lr, dict) else lr, **cfg)
    raise ValueError(f"optimizer: expected one of {', '.join(sorted(_BY_NAME))} or an Optimizer, got {optimizer!r}")
