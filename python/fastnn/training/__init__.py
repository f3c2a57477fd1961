"""The training loop and what it is made of: data adapters, callbacks, progress, history.

``fit``, ``evaluate`` and ``predict`` of a model run ``loop``; ``data`` turns
arrays, memmaps, generators and ``fastnn.data.Sequence`` objects into one
stream of batches; ``callbacks`` holds the hooks (progress bar and
``History`` included) in a ``CallbackList``.
"""
