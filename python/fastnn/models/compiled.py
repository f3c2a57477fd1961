"""What ``compile`` chose for each model output (loss, loss weight, metrics), and a step's losses,
output gradients, totals and logs computed from it (Keras' ``CompileLoss``/``CompileMetrics``).

A model with one output logs ``loss`` and its metrics under the names passed;
one with several logs ``loss`` (the weighted sum), then per output
``<output>_loss`` (weighted) and ``<output>_<metric>``, as Keras 3 does.
"""
from __future__ import annotations

from .. import losses as flosses
from .. import metrics as fmetrics
from .._checks import number


class OutputLoss:
    """One model output's loss, its weight in the total, and its metrics ``[(name, Metric)]``."""

    def __init__(self, name, loss, weight, metrics):
        self.name, self.loss, self.weight, self.metrics = name, loss, weight, metrics

    @property
    def size(self):
        """How many totals this output's metrics keep."""
        return sum(metric.size for _, metric in self.metrics)


def _per_output(arg, value, names, convert, default):
    """``value`` given once for every output, as a list in output order, or as a dict by output name."""
    if isinstance(value, dict) and "class_name" not in value:  # (a saved loss's config is one loss)
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{arg}: {unknown[0]!r} is not an output of the model; its outputs are {names}")
        return [convert(value[n]) if n in value else default() for n in names]
    if isinstance(value, (list, tuple)) and not value and arg == "metrics":
        return [default() for _ in names]  # no metrics for any output
    if isinstance(value, (list, tuple)) and (arg != "metrics" or len(names) > 1):
        if len(value) != len(names):
            raise ValueError(f"{arg}: expected one entry per model output ({len(names)}: {names}), got {len(value)}")
        return [convert(v) if v is not None else default() for v in value]
    return [convert(value) for _ in names]


def _metrics_of(metrics):
    """One output's metrics (a name, an object, a list of them, or None) as ``[(name, Metric)]``."""
    if metrics is None:
        return []
    return [fmetrics.get(m) for m in (metrics if isinstance(metrics, (list, tuple)) else [metrics])]


def _check_metric_lists(metrics, names):
    """A flat list of metrics for a model with several outputs is an error, as in Keras 3."""
    if isinstance(metrics, (list, tuple)) and len(names) > 1 and metrics \
            and not all(m is None or isinstance(m, (list, tuple)) for m in metrics):
        raise ValueError(f"metrics: the model has {len(names)} outputs {names}: give a list of metric lists, one "
                         f"per output, or a dict {{output name: metrics}} (as Keras 3), got {metrics!r}")
    return metrics


class Compiled:
    """The losses, loss weights and metrics of a model's outputs, normalized from ``compile``'s arguments."""

    def __init__(self, loss, loss_weights, metrics, output_names):
        if loss is None:
            raise ValueError("loss: expected a loss name or object, got None")
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(f"metrics: expected a list of metric names or objects, got {type(metrics).__name__}")
        names = list(output_names)
        self.multi = len(names) > 1
        losses = _per_output("loss", loss, names, flosses.get, lambda: None)
        if None in losses:
            raise ValueError(f"loss: no loss for output {names[losses.index(None)]!r}")
        if isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1 and not self.multi:
            loss_weights = loss_weights[0]
        weights = _per_output(
            "loss_weights", 1.0 if loss_weights is None else loss_weights, names,
            lambda w: number("loss_weights", w, lo=0, expected="a number >= 0 (or one per output)"), lambda: 1.0)
        metric_lists = _per_output("metrics", _check_metric_lists(metrics, names), names, _metrics_of, list)
        self.outputs = [OutputLoss(*entry) for entry in zip(names, losses, weights, metric_lists)]

    def get_config(self):
        """``loss``, ``loss_weights`` and ``metrics`` as JSON-able data that ``compile`` takes back."""
        cfg = [(flosses.serialize(o.loss), o.weight, [fmetrics.serialize(n, m) for n, m in o.metrics])
               for o in self.outputs]
        if not self.multi:
            return dict(zip(("loss", "loss_weights", "metrics"), cfg[0]))
        return {"loss": [c[0] for c in cfg], "loss_weights": [c[1] for c in cfg], "metrics": [c[2] for c in cfg]}

    @property
    def log_names(self):
        """Names of the logs after ``loss``, in ``evaluate``'s list order."""
        if not self.multi:
            return [name for name, _ in self.outputs[0].metrics]
        return [n for o in self.outputs for n in [f"{o.name}_loss"] + [f"{o.name}_{m}" for m, _ in o.metrics]]

    @property
    def totals_count(self):
        """How many numbers a step's totals hold."""
        return 1 + sum((1 if self.multi else 0) + o.size for o in self.outputs)

    def check_output_layers(self, layers):
        """Raise if a loss cannot go with the layer producing its output (a fused loss needs its activation)."""
        for o, layer in zip(self.outputs, layers):
            o.loss.check_last_layer(layer)

    def losses(self, outs, ys, sw, backend):
        """Per-sample losses of every output, weighted by ``sw`` and the loss weights."""
        result = []
        for o, out, y in zip(self.outputs, outs, ys):
            loss = o.loss.forward(out, y, backend)
            if sw is not None:
                loss = loss * sw
            if o.weight != 1.0:
                loss = loss * o.weight
            result.append(loss)
        return result

    def output_gradients(self, outs, ys, sw, backend, buffers, dtype, scale=None):
        """The total loss's gradient with respect to every output, in reused buffers."""
        douts = []
        for i, (o, out, y) in enumerate(zip(self.outputs, outs, ys)):
            dout = buffers.get(backend, f"dout{i}", out.shape, dtype)
            o.loss.backward(out, y, backend, dout)
            if sw is not None:
                dout *= sw.reshape((-1,) + (1,) * (dout.ndim - 1))
            factor = o.weight * (1.0 if scale is None else scale)
            if factor != 1.0:
                dout *= factor
            douts.append(dout)
        return douts

    def totals(self, outs, ys, losses, logits, xp):
        """The batch's summed loss (and per output when several) and every metric's totals, on the device."""
        sums = [loss.sum() for loss in losses]
        totals = [sum(sums[1:], sums[0])]
        for o, out, y, loss_sum in zip(self.outputs, outs, ys, sums):
            if self.multi:
                totals.append(loss_sum)
            if o.metrics:
                view = fmetrics.BatchView(xp, o.loss.fused_activation if logits else None,
                                          o.loss.takes_class_indices, out.shape[1])
                probs = None
                for _, metric in o.metrics:
                    if metric.needs_probabilities and probs is None:
                        probs = view.probabilities(out)
                    totals += metric.totals(probs if metric.needs_probabilities else out, y, view)
        return totals

    def logs(self, totals, seen):
        """A run's logs from its summed totals: ``{'loss': .., 'accuracy': .., ...}``."""
        logs = {"loss": float(totals[0]) / seen}
        i = 1
        for o in self.outputs:
            prefix = f"{o.name}_" if self.multi else ""
            if self.multi:
                logs[f"{o.name}_loss"] = float(totals[i]) / seen
                i += 1
            for name, metric in o.metrics:
                logs[prefix + name] = metric.result(totals[i:i + metric.size], seen)
                i += metric.size
        return logs
