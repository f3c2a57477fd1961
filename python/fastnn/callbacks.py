"""Callbacks for ``fit``, ``evaluate`` and ``predict`` (Keras' names): see ``fastnn.training.callbacks``."""
from .training.callbacks import (
    BackupAndRestore, Callback, CallbackList, CSVLogger, EarlyStopping, ExponentialMovingAverage, LambdaCallback, LearningRateScheduler,
    ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN,
)
from .training.history import History
from .training.progress import ProgbarLogger
from .training.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "ExponentialMovingAverage", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
