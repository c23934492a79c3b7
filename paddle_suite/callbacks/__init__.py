"""Callbacks for `paddle.Model.fit`. Each works with plain hapi too (see each docstring)."""
from .averaging import EMA, SWA, recompute_batch_norm
from .checkpoints import CheckpointSaver
from .early_stopping import EarlyStopping
from .evaluator import Evaluator
from .hapi_fixes import ResetStopTraining
from .lr_stepper import LRStepper
from .monitor import Monitor, infer_mode, scalar
from .nan_guard import NaNGuard, TrainingDiverged
from .plateau import PlateauDecay
from .progress import ProgressLogger
from .recorder import RunRecorder
from .snapshots import Snapshots

__all__ = ["CheckpointSaver", "EMA", "EarlyStopping", "Evaluator", "LRStepper", "Monitor",
           "NaNGuard", "PlateauDecay", "ProgressLogger", "ResetStopTraining", "RunRecorder",
           "SWA", "Snapshots", "TrainingDiverged", "infer_mode", "recompute_batch_norm", "scalar"]
