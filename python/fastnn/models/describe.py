"""A functional model described: Keras' summary table with "Connected to", and its config (save, clone)."""
from __future__ import annotations

from ..layers.base import registry
from ..layers.symbolic import InputLayer


def _node_ids(model):
    """``node -> (producer name, index of that call among the producer's calls)``."""
    ids, counts = {}, {}
    for node in model._nodes:
        k = counts.get(id(node.op), 0)
        counts[id(node.op)] = k + 1
        ids[id(node)] = (node.op.name, k)
    return ids


def functional_summary(model):
    ids = _node_ids(model)
    rows = []
    for op in model.layers:
        nodes = [n for n in model._nodes if n.op is op]
        shapes = {str(n.output.shape) for n in nodes}
        links = [f"{ids[id(t.node)][0]}[{ids[id(t.node)][1]}][0]" for n in nodes for t in n.inputs] or ["-"]
        weights = op.leaves() if hasattr(op, "leaves") else [op]
        rows.append((f"{op.name} ({type(op).__name__})", ", ".join(sorted(shapes)),
                     f"{model.parameters.count(weights):,}", links))
    widths = [max(28, max(len(r[0]) for r in rows) + 2), max(22, max(len(r[1]) for r in rows) + 2), 12,
              max(16, max(len(link) for r in rows for link in r[3]) + 2)]
    width = sum(widths)
    head = (f"{' Layer (type)':<{widths[0]}}{'Output Shape':<{widths[1]}}{'Param #':>{widths[2] - 2}}  "
            f"{'Connected to':<{widths[3]}}")
    lines = [f'Model: "{model.name}"', "_" * width, head, "=" * width]
    for i, (name, shape, count, links) in enumerate(rows):
        for j, link in enumerate(links):
            first = j == 0
            lines.append(f"{' ' + name if first else '':<{widths[0]}}{shape if first else '':<{widths[1]}}"
                         f"{count if first else '':>{widths[2] - 2}}  {link:<{widths[3]}}")
        lines.append("_" * width if i < len(rows) - 1 else "=" * width)
    lines += [f"Total params: {model.count_params():,}", f"Trainable params: {model.count_params(True):,}",
              f"Non-trainable params: {model.count_params(False):,}", "_" * width]
    return "\n".join(lines)


def functional_config(model):
    """Layers (nested models with their own config), then the calls in order: what feeds each."""
    ids = _node_ids(model)
    return {
        "class_name": "Functional", "name": model.name, "dtype": model.dtype.name, "seed": model.seed,
        "layers": [{"class_name": type(op).__name__, "config": op.get_config()} for op in model.layers],
        "nodes": [{"layer": node.op.name, "inputs": [list(ids[id(t.node)]) for t in node.inputs]}
                  for node in model._nodes if node.inputs],
        "inputs": [list(ids[id(t.node)]) for t in model.inputs],
        "outputs": [list(ids[id(t.node)]) for t in model.outputs],
        "input_names": model.input_names, "output_names": model.output_names,
    }


def functional_from_config(cfg, device=None, make_sequential=None):
    """A new functional model (fresh weights) from ``functional_config``'s data."""
    from .functional import Functional

    classes = registry()
    ops, outputs = {}, {}
    for entry in cfg["layers"]:
        kind, sub = entry["class_name"], entry["config"]
        if kind == "Functional":
            op = functional_from_config(sub, device, make_sequential)
        elif kind == "Sequential":
            op = make_sequential(sub)
        elif kind in classes:
            op = classes[kind](**sub)
        else:
            raise ValueError(f"layers: unknown layer class {kind!r}")
        ops[op.name] = op
        if isinstance(op, InputLayer):
            outputs[(op.name, 0)] = op.output
    counts = {}
    for node in cfg["nodes"]:
        op = ops[node["layer"]]
        tensors = [outputs[tuple(ref)] for ref in node["inputs"]]
        k = counts.get(op.name, 0)
        counts[op.name] = k + 1
        outputs[(op.name, k)] = op(tensors if getattr(op, "takes_lists", False) else tensors[0])
    pick = lambda refs, names: dict(zip(names, (outputs[tuple(r)] for r in refs)))  # noqa: E731
    ins, outs = pick(cfg["inputs"], cfg["input_names"]), pick(cfg["outputs"], cfg["output_names"])
    return Functional(list(ins.values()) if len(ins) > 1 else next(iter(ins.values())),
                      outs if len(outs) > 1 else next(iter(outs.values())),
                      name=cfg["name"], device=device or "cpu", dtype=cfg["dtype"], seed=cfg["seed"])
