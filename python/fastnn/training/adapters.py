"""Data adapters: arrays, memmaps, generators and Sequences as one stream of batches.

Each adapter knows its number of batches per epoch (``steps``; None when a
generator runs until exhausted) and, per epoch, returns a generator of host
batches ``(x, y, sample_weight)`` already checked and converted for the model
(``data.BatchConverter``). That generator runs on the prefetch thread, so
everything it does (gathering, reading files, converting) overlaps the step.
The shuffle order is drawn when the epoch starts, on the caller's thread, from
the model's generator: the run is repeatable.
"""
from __future__ import annotations

import itertools
import math
import mmap
from typing import NamedTuple

import numpy as np

from .._native import _C
from ..backend import Buffers
from .data import map_arrays, num_rows

PREFETCH_DEPTH = 2
_RING = PREFETCH_DEPTH + 2  # buffers a batch can be in: consumed, queued (depth), being filled


class Shard(NamedTuple):
    """Where a data-parallel process's rows sit in the global batch (the 4th item of its batches)."""

    first: int  # position of its first row
    size: int   # rows of the whole global batch


def adapter(conv, x, y=None, sample_weight=None, class_weight=None, batch_size=None, shuffle=False, steps=None,
            name="x", part=None):
    """The adapter for the source ``x`` (with ``y``/``sample_weight`` for arrays).

    ``part = (rank, size)``: yield only rank's share of every batch, with its ``Shard``.
    """
    from ..data import Sequence

    if isinstance(x, Sequence) or (hasattr(x, "__getitem__") and hasattr(x, "__len__")
                                   and hasattr(x, "on_epoch_end")):
        _no_arrays_with(name, y, sample_weight)
        source = SequenceAdapter(conv, x, steps, shuffle, class_weight, name)
    elif hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "__len__")):
        _no_arrays_with(name, y, sample_weight)
        source = GeneratorAdapter(conv, x, steps, class_weight, name)
    elif x is None:
        raise ValueError(f"{name}: expected data (arrays, a generator or a fastnn.data.Sequence), got None")
    else:
        source = ArrayAdapter(conv, x, y, sample_weight, class_weight, 32 if batch_size is None else batch_size,
                              shuffle, steps, name)
    source.part = part
    return source


def _share(n, part):
    """Rows ``[lo, hi)`` of a batch of ``n`` that ``part = (rank, size)`` takes (shares differ by at most one)."""
    rank, size = part
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


def _local(batch, part):
    """A process's rows of a whole batch ``(x, y, sw)`` read from a generator or Sequence, with its Shard."""
    if part is None:
        return batch
    n = num_rows(batch[0])
    lo, hi = _share(n, part)
    return tuple(None if a is None else map_arrays(lambda e: e[lo:hi], a) for a in batch) + (Shard(lo, n),)


def sample_shape(x):
    """``(shape of one sample, x)`` for building a model on its first data; a generator is
    peeked at and handed back whole. The shape is None where there is nothing to look at."""
    from ..data import Sequence

    def first_x(item):
        return item[0] if isinstance(item, (tuple, list)) and item else item

    if hasattr(x, "shape"):
        return tuple(x.shape[1:]), x
    if isinstance(x, Sequence) or (hasattr(x, "__getitem__") and hasattr(x, "__len__")
                                   and hasattr(x, "on_epoch_end")):
        return (tuple(np.shape(first_x(x[0]))[1:]) if len(x) else None), x
    if hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "__len__")):
        it = iter(x)
        try:
            first = next(it)
        except StopIteration:
            return None, iter(())
        return tuple(np.shape(first_x(first))[1:]), itertools.chain([first], it)
    return (tuple(np.shape(x)[1:]) if x is not None else None), x


def _no_arrays_with(name, y, sample_weight):
    for arg, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{arg}: not allowed when {name} is a generator or Sequence (its batches carry them)")


def _check_steps(steps, available, source):
    if steps is not None and steps > available:
        raise ValueError(f"steps_per_epoch: {steps} is more than the {available} batches {source} has per epoch")
    return available if steps is None else steps


class ArrayAdapter:
    """NumPy arrays, in memory (checked and converted once) or memory-mapped (read batch by batch)."""

    @property
    def background(self):
        """Whether batches are worth preparing on a thread: only when they are read from a file."""
        return self.mapped or isinstance(self.y, _FileRows)

    def __init__(self, conv, x, y, sample_weight, class_weight, batch_size, shuffle, steps, name="x"):
        self.conv, self.batch_size, self.shuffle, self.name = conv, batch_size, shuffle, name
        self.mapped = isinstance(x, np.memmap)
        if self.mapped:
            if x.ndim == 0 or x.shape[1:] != conv.input_shape or x.dtype.kind not in "fiub":
                raise ValueError(f"{name}: expected samples of shape {conv.input_shape}, got {x.dtype} {x.shape}")
            self.x = _FileRows(x)
        else:
            self.x = conv.x(x, name=name)
        self.n = len(x) if self.mapped else num_rows(self.x)
        if self.n == 0:
            raise ValueError(f"{name}: expected at least one sample")
        self.y = None if y is None else (_FileRows(y) if isinstance(y, np.memmap) else conv.y(y, self.n))
        sw = None if sample_weight is None else conv.sample_weight(sample_weight, self.n)
        self.class_table = conv.class_weights(class_weight)
        if self.class_table is not None and self.y is not None and not isinstance(self.y, _FileRows):
            cw = conv.weights_of_classes(self.class_table, self.y)
            sw, self.class_table = (cw if sw is None else sw * cw), None
        self.sw = sw
        self.steps = _check_steps(steps, math.ceil(self.n / batch_size), f"{name} ({self.n} samples)")
        self._ring = [Buffers() for _ in range(_RING)]

    def epoch(self, rng):
        """The batches of one epoch (shuffled from ``rng`` if asked)."""
        order = rng.permutation(self.n) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order):
        for k in range(self.steps):
            lo, hi = k * self.batch_size, min((k + 1) * self.batch_size, self.n)
            where = f" (batch {k})"
            if order is None:
                idx = slice(lo, hi)
            elif self.mapped:
                idx = np.sort(order[lo:hi])  # ascending reads from the file
            else:
                idx = order[lo:hi]
            shard = None
            if self.part is not None:  # this process's rows of the batch, and only those are read
                a, b = _share(hi - lo, self.part)
                shard = Shard(a, hi - lo)
                idx = slice(lo + a, lo + b) if order is None else idx[a:b]
                lo, hi = lo + a, lo + b
            ring = self._ring[k % _RING]
            x, y, sw = self.x, self.y, self.sw
            if self.mapped:
                x = self.conv.x(self.x.rows(idx), where, self.name)
            elif order is not None:
                # mode="clip": the indices are a permutation; "raise" would buffer the output first (4x slower)
                parts = x if isinstance(x, tuple) else (x,)
                parts = tuple(np.take(p, idx, axis=0, mode="clip",
                                      out=ring.get(_HOST, f"x{i}", (hi - lo,) + p.shape[1:], p.dtype))
                              for i, p in enumerate(parts))
                x = parts if isinstance(x, tuple) else parts[0]
            else:
                x = map_arrays(lambda a: a[idx], x)
            if isinstance(y, _FileRows):
                y = self.conv.y(y.rows(idx), hi - lo, where)
            elif y is not None:
                y = map_arrays(lambda a: a[idx], y)
            sw = None if sw is None else sw[idx]
            if self.class_table is not None:
                cw = self.conv.weights_of_classes(self.class_table, y, where)
                sw = cw if sw is None else sw * cw
            yield (x, y, sw) if shard is None else (x, y, sw, shard)

    def end_epoch(self):
        pass


class _Host:
    name, xp = "host", np

    @staticmethod
    def empty(shape, dtype):
        return np.empty(shape, dtype)


_HOST = _Host()


class _FileRows:
    """Rows of a memory-mapped array, read from its file with ``pread`` straight into the batch.

    Reading through the mapping would leave every page it touched resident in
    this process (a scattered row maps a whole large folio, up to 2 MB, here),
    so a shuffled epoch over a file larger than RAM would grow the process to
    the file's size. ``pread`` copies from the page cache without mapping
    anything: resident memory stays at a few batches.
    """

    def __init__(self, array):
        root = array
        while not isinstance(root.base, mmap.mmap) and isinstance(root.base, np.ndarray):
            root = root.base  # a slice of the array np.load returned: find where it starts in the file
        if not array.flags.c_contiguous or not isinstance(root, np.memmap) or not isinstance(root.base, mmap.mmap):
            raise ValueError("x: expected a C-ordered memory-mapped array (np.load(path, mmap_mode='r') or a slice "
                             "of one along the first axis)")
        self.offset = root.offset + (array.ctypes.data - root.ctypes.data)
        self.shape, self.dtype = array.shape, array.dtype
        self.row_bytes = array.itemsize * int(np.prod(array.shape[1:]))
        self._file = open(root.filename, "rb")

    def __len__(self):
        return self.shape[0]

    def rows(self, idx):
        """A copy of the rows ``idx`` (a slice or indices), read with the GIL released."""
        if isinstance(idx, slice):
            idx = np.arange(*idx.indices(self.shape[0]), dtype=np.int64)
        out = np.empty((len(idx),) + self.shape[1:], self.dtype)
        _C.read_rows(self._file.fileno(), self.offset, self.row_bytes, np.ascontiguousarray(idx, np.int64), out)
        return out


class SequenceAdapter:
    """A ``fastnn.data.Sequence``: ``seq[i]`` is batch i; shuffling permutes the batch order."""

    background = True

    def __init__(self, conv, seq, steps, shuffle, class_weight, name="x"):
        self.conv, self.seq, self.shuffle, self.name = conv, seq, shuffle, name
        n = len(seq)
        if n == 0:
            raise ValueError(f"{name}: the {type(seq).__name__} has no batches (len() is 0)")
        self.steps = _check_steps(steps, n, f"the {type(seq).__name__}")
        self.class_table = conv.class_weights(class_weight)

    def epoch(self, rng):
        order = rng.permutation(len(self.seq)) if self.shuffle else np.arange(len(self.seq))
        return self._batches(order[:self.steps])

    def _batches(self, order):
        for k, i in enumerate(order):
            try:
                item = self.seq[int(i)]
            except Exception as e:
                raise ValueError(f"{self.name}: {type(self.seq).__name__}[{i}] raised {type(e).__name__}: {e} "
                                 f"(batch {k})") from e
            yield _local(unpack(self.conv, item, f" (batch {k}, {type(self.seq).__name__}[{i}])", self.class_table,
                                self.name), self.part)

    def end_epoch(self):
        self.seq.on_epoch_end()


class GeneratorAdapter:
    """A generator or iterator of batches; consumed across epochs as Keras does."""

    background = True

    def __init__(self, conv, source, steps, class_weight, name="x"):
        self.conv, self.it, self.steps, self.name = conv, iter(source), steps, name
        self.class_table = conv.class_weights(class_weight)
        self.epochs = 0

    def epoch(self, rng):
        self.epochs += 1
        return self._batches(self.epochs)

    def _batches(self, epoch):
        for k in (range(self.steps) if self.steps is not None else itertools.count()):
            try:
                item = next(self.it)
            except StopIteration:
                if self.steps is not None:
                    raise ValueError(f"steps_per_epoch: the generator ran out after {k} batches of epoch {epoch}, "
                                     f"expected {self.steps}; make it loop forever or lower steps_per_epoch") from None
                if k == 0:
                    raise ValueError(f"{self.name}: the generator yielded no batches"
                                     + (f" in epoch {epoch} (it was used up by the epochs before; give "
                                        f"steps_per_epoch and a generator that loops forever, or a "
                                        f"fastnn.data.Sequence)" if epoch > 1 else "")) from None
                return
            except Exception as e:
                raise ValueError(f"{self.name}: the generator raised {type(e).__name__}: {e} (batch {k})") from e
            yield _local(unpack(self.conv, item, f" (batch {k})", self.class_table, self.name), self.part)

    def end_epoch(self):
        pass


def unpack(conv, item, where, class_table=None, name="x"):
    """A source's batch ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, checked and converted."""
    if isinstance(item, (tuple, list)) and 1 <= len(item) <= 3:
        x, y, sw = (tuple(item) + (None, None))[:3]
    elif isinstance(item, (tuple, list)):
        raise ValueError(f"{name}: expected batches x, (x, y) or (x, y, sample_weight), got a {type(item).__name__} "
                         f"of {len(item)}{where}")
    else:
        x, y, sw = item, None, None
    x = conv.x(x, where, name)
    if y is not None:
        y = conv.y(y, num_rows(x), where)
    if sw is not None:
        sw = conv.sample_weight(sw, num_rows(x), where)
    if class_table is not None and y is not None:
        cw = conv.weights_of_classes(class_table, y, where)
        sw = cw if sw is None else sw * cw
    return x, y, sw


def to_device(backend):
    """The prefetch thread's copy to the model's device (None: the arrays are already there)."""
    if backend.xp is np:
        return None
    return lambda a: a if isinstance(a, Shard) else map_arrays(backend.xp.asarray, a)
