"""Paddle Suite: config-driven image-classifier training on paddle.Model with expert callbacks.

Public API::

    from paddle_suite import load_config, train, evaluate
    cfg = load_config("configs/lenet.yaml", ["Global.epochs=2"])
    result = train(cfg)            # -> TrainResult(run_dir, summary, history, model)
    metrics = evaluate(cfg, weights=str(result.run_dir))
"""
import warnings as _warnings

with _warnings.catch_warnings():  # paddle warns at import time that ccache is missing
    _warnings.simplefilter("ignore")
    import paddle as _paddle  # noqa: F401

from .config import Config, load_config
from .engine import TrainResult, build, evaluate, train
from .errors import ConfigError, DataError, UserError

__version__ = "0.1.0"
__all__ = ["Config", "load_config", "train", "evaluate", "build", "TrainResult",
           "ConfigError", "DataError", "UserError", "__version__"]
