"""Callbacks for `paddle.Model.fit`. Each works with plain hapi too."""
from .checkpoints import CheckpointSaver
from .evaluator import Evaluator
from .hapi_fixes import ResetStopTraining
from .monitor import Monitor, infer_mode, scalar
from .progress import ProgressLogger
from .recorder import RunRecorder

CALLBACKS: dict = {}  # config name -> callback class, for the `Callbacks` section

__all__ = ["CheckpointSaver", "Evaluator", "Monitor", "ProgressLogger", "ResetStopTraining",
           "RunRecorder", "CALLBACKS", "infer_mode", "scalar"]
