"""The process's random states (Python's, numpy's, paddle's) as plain data a checkpoint can
hold, and back. The host part (Python and numpy) is what data augmentation draws from; the
paddle part is what dropout and paddle's own random ops draw from."""
from __future__ import annotations

import random

import numpy as np


def host_rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state()}


def set_host_rng_state(state: dict) -> None:
    random.setstate(_tuples(state["python"]))
    np.random.set_state(tuple(state["numpy"]))


def paddle_rng_state() -> list:
    import paddle
    return [s.__getstate__() for s in paddle.get_rng_state()]


def set_paddle_rng_state(raw: list) -> None:
    """Restore what `paddle_rng_state` captured."""
    import paddle
    generators = []
    for item in raw:
        gen = paddle.base.libpaddle.GeneratorState.__new__(paddle.base.libpaddle.GeneratorState)
        gen.__setstate__(tuple(item))
        generators.append(gen)
    paddle.set_rng_state(generators)


def rng_state() -> dict:
    """The random states of Python, numpy and paddle as plain data."""
    return {**host_rng_state(), "paddle": paddle_rng_state()}


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    set_host_rng_state(state)
    set_paddle_rng_state(state["paddle"])


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
