"""Callbacks for `paddle.Model.fit`. Each works with plain hapi too (see each docstring).

Names are imported on first use: importing this package loads none of the suite's engine
or data pipeline (nor OpenCV).
"""
import importlib

_EXPORTS = {
    "EMA": "averaging", "SWA": "averaging", "recompute_batch_norm": "averaging",
    "CheckpointSaver": "checkpoints", "EarlyStopping": "early_stopping",
    "Evaluator": "evaluator", "ResetStopTraining": "hapi_fixes", "LRStepper": "lr_stepper",
    "Monitor": "monitor", "infer_mode": "monitor", "scalar": "monitor",
    "NaNGuard": "nan_guard", "TrainingDiverged": "nan_guard", "PlateauDecay": "plateau",
    "ProgressLogger": "progress", "RunRecorder": "recorder", "Snapshots": "snapshots",
    "WeightStats": "weight_stats",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'paddle_suite.callbacks' has no attribute {name!r}")
