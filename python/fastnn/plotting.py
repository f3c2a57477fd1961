"""Pictures of what a CNN learned: its first layer's filters and a layer's feature maps (matplotlib)."""
from __future__ import annotations

import math

import numpy as np

from .training.data import to_host


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastnn[plot]'") from None
    return plt


def _grid(images, titles, path, cmap):
    plt = _pyplot()
    n = len(images)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(image, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def plot_filters(layer, path=None, channel=None):
    """One image per filter of a ``Conv2D`` layer (the lecture's "visualizing filters").

    A filter with one input channel (or the one ``channel`` picks) is shown in
    grey; with three input channels, as an RGB image scaled to [0, 1]. Saves
    a PNG to ``path`` if given; returns the matplotlib figure.
    """
    if type(layer).__name__ != "Conv2D":
        raise TypeError(f"layer: expected a Conv2D layer, got {type(layer).__name__}")
    if not layer.params:
        raise ValueError(f"layer: {layer.name} is not built yet (build or fit its model first)")
    kernel = to_host(layer.kernel).astype(np.float64)  # (kh, kw, C_in, filters)
    c_in = kernel.shape[2]
    if channel is not None:
        if not isinstance(channel, int) or not 0 <= channel < c_in:
            raise ValueError(f"channel: expected an int in [0, {c_in}), got {channel!r}")
        kernel = kernel[:, :, channel:channel + 1]
    elif c_in not in (1, 3):
        kernel = kernel[:, :, :1]  # no natural colour: show the first input channel
    images = []
    for f in range(kernel.shape[3]):
        k = kernel[:, :, :, f]
        k = (k - k.min()) / (k.max() - k.min() or 1.0)
        images.append(k[:, :, 0] if k.shape[2] == 1 else k)
    return _grid(images, [f"filter {f}" for f in range(len(images))], path, "gray")


def plot_feature_maps(model, x, layer, path=None, max_maps=32):
    """The channels of ``layer``'s output for one image ``x`` (shape (H, W, C) or (1, H, W, C)).

    ``layer`` is a layer of ``model`` or its name. Saves a PNG to ``path`` if
    given; returns the matplotlib figure.
    """
    layer = model.get_layer(layer) if isinstance(layer, str) else layer
    leaves = model.leaves()
    if layer not in leaves:
        raise ValueError(f"layer: {getattr(layer, 'name', layer)!r} is not a layer of model {model.name!r}")
    x = np.asarray(x)
    maps = model.output_of(x[None] if x.ndim == len(model.input_shape) else x[:1], layer)[0]
    if maps.ndim != 3:
        raise ValueError(f"layer: {layer.name} outputs shape {maps.shape}, not feature maps (H, W, C)")
    n = min(maps.shape[2], max_maps)
    return _grid([maps[:, :, c] for c in range(n)], [f"map {c}" for c in range(n)], path, "viridis")
