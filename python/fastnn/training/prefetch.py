"""A background thread that prepares the next batches while the model computes on this one."""
from __future__ import annotations

import queue
import threading

_END = object()


class _Raised:
    def __init__(self, error):
        self.error = error


class Inline:
    """The same interface as ``Prefetcher``, producing each batch when asked, on the caller's thread."""

    def __init__(self, batches):
        self._batches = batches

    def __iter__(self):
        return iter(self._batches)

    def close(self):
        self._batches.close()


class Prefetcher:
    """Runs the generator ``batches`` on a thread, ``depth`` batches ahead, applying ``to_device``.

    Iterating yields the batches in order; an exception raised while
    producing batch k is raised by the iteration at batch k, so every batch
    before it has been consumed (trained on) first. ``close()`` stops the
    thread early (an epoch cut short).
    """

    def __init__(self, batches, to_device=None, depth=2):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(batches, to_device), name="fastnn-prefetch",
                                        daemon=True)
        self._thread.start()

    def _run(self, batches, to_device):
        try:
            for batch in batches:
                if to_device is not None:
                    batch = tuple(None if a is None else to_device(a) for a in batch)
                if not self._put(batch):
                    return
        except BaseException as e:  # handed to the consumer, raised where this batch would have been
            self._put(_Raised(e))
        else:
            self._put(_END)

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item

    def close(self):
        """Stop producing and wait for the thread."""
        self._stop.set()
        self._thread.join()
