"""Callbacks for ``fit``, ``evaluate`` and ``predict`` (Keras' names): see ``fastnn.training.callbacks``."""
from .training.callbacks import Callback, CallbackList, LambdaCallback
from .training.checkpoints import BackupAndRestore, CSVLogger, ModelCheckpoint
from .training.monitoring import (
    EarlyStopping, ExponentialMovingAverage, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN,
)
from .training.history import History
from .training.progress import ProgbarLogger
from .training.tensorboard import TensorBoard

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "ExponentialMovingAverage", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
