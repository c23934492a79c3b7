"""Paddle Suite: config-driven image-classifier training on paddle.Model with expert callbacks.

Public API::

    from paddle_suite import load_config, train, evaluate
    cfg = load_config("configs/lenet.yaml", ["Global.epochs=2"])
    result = train(cfg)            # -> TrainResult(run_dir, summary, history, model)
    metrics = evaluate(cfg, weights=str(result.run_dir))

The names are imported on first use, so `import paddle_suite.callbacks` (for a plain
`paddle.Model.fit`) does not load the engine, the data pipeline or OpenCV.
"""
import importlib
import warnings as _warnings

with _warnings.catch_warnings():  # paddle warns at import time that ccache is missing
    _warnings.simplefilter("ignore")
    import paddle as _paddle  # noqa: F401

__version__ = "0.1.0"
_EXPORTS = {"Config": "config.loader", "load_config": "config.loader",
            "train": "lifecycle.engine",
            "evaluate": "lifecycle.engine", "build": "lifecycle.engine",
            "TrainResult": "lifecycle.engine",
            "ConfigError": "errors", "DataError": "errors", "UserError": "errors"}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'paddle_suite' has no attribute {name!r}")
