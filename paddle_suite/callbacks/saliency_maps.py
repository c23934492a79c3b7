"""Saliency maps of a few fixed eval images, every N epochs, to watch what the model uses."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import OptionError
from ..visual.pictures import prediction_text, saliency_figure
from ..visual.plots import figure_to_array, save_figure
from ..visual.saliency import METHODS, overlay, saliency
from .run_state import Phase, RunCallback, run_epoch


class SaliencyMaps(RunCallback):
    """Every `every` epochs (and after the last), explain the model's prediction for the
    first `count` images of `view` with `method`; write a picture of each (input, map with
    its colour scale, overlay; predicted and true class) to `<directory>/epoch-NNN/` and, when a VisualDL logger is given, to its log
    (`saliency/<method>/<i>`). Acts in `on_epoch_end`.
    """

    phase = Phase.AFTER_STEP

    def __init__(self, view=None, directory=None, visualdl=None, method: str = "smoothgrad",
                 every: int = 5, count: int = 8, class_names: list[str] | None = None):
        super().__init__()
        if method not in METHODS:
            raise OptionError(f"method: unknown method {method!r}. "
                              f"Methods: {', '.join(METHODS)}.")
        if every < 1 or count < 1:
            raise OptionError("every and count must be at least 1.")
        self.view, self.visualdl, self.method = view, visualdl, method
        self.directory = Path(directory) if directory else None
        self.every, self.count, self.class_names = every, count, list(class_names or [])

    def on_epoch_end(self, epoch, logs=None):
        number = run_epoch(self, epoch)
        if number % self.every and epoch + 1 != self.params.get("epochs"):
            return
        folder = self.directory / f"epoch-{number:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        writer = self.visualdl.writer if self.visualdl is not None else None
        for i in range(min(self.count, len(self.view))):
            image, label = self.view.load(i)
            sal, _, probs = saliency(self.method, self.model.network, image)
            fig = saliency_figure(image, sal, overlay(image, sal), self.method,
                                  prediction_text(self.class_names, probs, int(np.asarray(label).reshape(-1)[0])))
            if writer is not None:
                writer.add_image(f"saliency/{self.method}/{i}", figure_to_array(fig), number)
            save_figure(fig, folder / f"{i:02d}.png")
