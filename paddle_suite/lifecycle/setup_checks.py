"""Checks while a run is built from its config: what only the libraries can tell.

Validation checks every key; building can still fail where paddle or OpenCV reject a value
(a crop larger than the images, a model that cannot take the data). These report such a
failure as a OptionError naming the config section, before the run directory exists, so a
bad config never ends in a traceback.
"""
from __future__ import annotations

import contextlib

import numpy as np
import paddle

from ..errors import OptionError, UserError


@contextlib.contextmanager
def setup_stage(section: str, what: str):
    """Report a failure while building from the config as a OptionError naming the section.

    Validation checks every key; this catches what only the libraries can tell (a crop larger
    than the images, a value paddle rejects), so a bad config never ends in a traceback."""
    try:
        yield
    except UserError:
        raise
    except MemoryError:
        raise OptionError(f"{section}: {what} ran out of memory; the configured sizes are too "
                          "large for this machine.") from None
    except Exception as exc:  # noqa: BLE001 - named and reported, see the docstring
        detail = (str(exc).strip().splitlines() or [""])[0][:400]
        raise OptionError(f"{section}: {what} failed: {type(exc).__name__}: {detail} (run with "
                          "--debug for the traceback).") from None


def check_forward(net, sample: np.ndarray, class_num: int, split: str = "Train") -> None:
    """Run the network on one real sample (eval mode, no gradient, no random draw) and check
    it gives `class_num` scores: a model that cannot take the data fails here, before the
    run directory exists."""
    was_training = net.training
    net.eval()
    try:
        with setup_stage("Arch", f"running the model on one sample of DataLoader.{split} "
                                 f"(shape {list(sample.shape)} after its transforms)"), \
                paddle.no_grad():
            out = net(paddle.to_tensor(np.asarray(sample, dtype="float32")[None]))
    finally:
        if was_training:
            net.train()
    shape = list(getattr(out, "shape", []))
    if shape != [1, class_num]:
        raise OptionError(f"Arch: the model gives outputs of shape {shape} for one sample; "
                          f"expected [1, {class_num}] (Arch.class_num).")
