"""Log a run to VisualDL: scalars, hyper-parameters, input images, histograms, PR/ROC curves,
the confusion matrix and per-class metrics. One LogWriter (one log file) per run directory."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.imageio import read_image
from ..visual.curves import micro_counts, threshold_counts
from ..visual.mistakes import most_confused
from ..visual.report import confusion_counts
from ..visual.vdl import open_writer, write_hparams, write_pr_curve, write_roc_curve
from ..visual.weights import conv_outputs, filter_grid, first_conv, layer_norms, tile
from .monitor import scalar
from .run_state import RunCallback, state_of


def image_grid(batch, count: int) -> np.ndarray:
    """The first `count` images of an NCHW batch as one RGB grid (see visual/weights.tile)."""
    return tile(np.asarray(batch)[:count].transpose(0, 2, 3, 1), min_tile=56)


class VisualDLLogger(RunCallback):
    """Write everything a careful engineer wants to see in `visualdl --logdir logs`.

    - every `scalar_interval` steps (and at each epoch's first): `train/lr` (the LR of that
      update), `train/loss`, `train/acc`... (running epoch means; metrics.jsonl keeps every
      LR change); per epoch `train/samples_per_second`
      (the figure metrics.jsonl has, training time only); every scalar, the per-epoch ones
      included, against the global step;
    - per evaluation: `eval/loss` (true mean), `eval/acc`..., keyed by the global step;
    - `hparams` with the metric tags, for VisualDL's hyper-parameter comparison page;
    - every `pictures_every` epochs (the first included): a grid of the epoch's first training
      batch (after augmentation; needs a `tap`) with its labels, histograms of every
      parameter and of its gradient (from one batch), the first conv layer's filters;
    - per epoch: the L2 norm of every parameter and of its gradient (`norms/...`);
    - per evaluation: the micro-averaged PR and ROC curves (every sample-class pair one
      decision), and each class's own when the run has at most `curve_classes` classes
      (needs a `collector`); memory and time linear in the eval set's probabilities;
    - at the end of training: the feature maps of every conv layer for `sample` (a CHW
      image); the filters and feature maps are also written as PNGs into `logdir`
      (filters.png, feature_maps/), which the run report links;
    - after the run report (`finish()`): its confusion matrix and top losses as images,
      per-class precision/recall/F1 as an image and a summary line, the most confused pairs.
    Every record is keyed by the global step (training batches so far, resumed runs
    included, from the run's RunState), so all charts and sliders share one x-axis.
    """

    def __init__(self, logdir, hparams: dict, lr_getter=None, scalar_interval: int = 10,
                 images: bool = True, histograms: bool = True, curves: bool = True,
                 image_count: int = 32, pictures_every: int = 10, curve_classes: int = 20,
                 collector=None, tap=None, class_names=None, sample=None,
                 display_name: str = ""):
        super().__init__()
        if pictures_every < 1:
            raise ValueError(f"pictures_every: must be at least 1 (epochs), got {pictures_every}")
        if curve_classes < 0:
            raise ValueError(f"curve_classes: must be at least 0, got {curve_classes}")
        self.display_name = display_name
        self.logdir, self.hparams, self.lr_getter = logdir, hparams, lr_getter
        self.scalar_interval, self.image_count = scalar_interval, image_count
        self.pictures_every, self.curve_classes = pictures_every, curve_classes
        self.images, self.histograms, self.curves = images, histograms, curves
        self.collector, self.tap, self.class_names = collector, tap, class_names or []
        self.sample = sample
        self.writer, self.hooks, self.grads = None, [], {}

    # -- lifecycle -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.writer = open_writer(self.logdir, self.display_name)
        metric_tags = ["eval/acc", "eval/loss"]
        monitor = state_of(self).monitor
        if monitor is not None:
            metric_tags.append(f"eval/best_{monitor.name}")
        write_hparams(self.writer, self.hparams, metric_tags)
        if self.tap is not None:
            self.tap.arm()

    def on_train_end(self, logs=None):
        self._remove_hooks()
        state = state_of(self)
        if state.best_value is not None:
            self.writer.add_scalar(f"eval/best_{state.monitor.name}", state.best_value,
                                   self.global_step)
        if self.histograms:  # before the report, which links filters.png and feature_maps/
            self._pictures_of_weights()
        self.writer.flush()

    def finish(self, run_dir) -> None:
        """After the run report: show its pictures (confusion matrix, top losses: drawn
        once, by the report) with the per-class summary and the most confused pairs, and
        close the log. Called by the run, also after a failure."""
        if self.writer is None:
            return
        try:
            if self.curves:
                self._report_pictures(Path(run_dir))
        finally:
            self.writer.close()
            self.writer = None

    # -- per step --------------------------------------------------------------------------
    def on_train_batch_begin(self, step, logs=None):
        logged = step == 0 or (self.global_step + 1) % self.scalar_interval == 0
        self.lr = self.lr_getter() if self.lr_getter and logged else None
        if self.histograms and step == 0:
            self._arm_gradient_capture()

    def on_train_batch_end(self, step, logs=None):
        if step == 0:
            self._remove_hooks()  # the epoch's first batch's gradients are kept
        if self.global_step % self.scalar_interval and step:
            return  # the RunState counted this batch: global_step is its number
        if self.lr is not None:
            self.writer.add_scalar("train/lr", self.lr, self.global_step)
        if self.global_step % self.scalar_interval == 0:
            for key, value in (logs or {}).items():
                if key.startswith(("loss", "acc")):
                    self.writer.add_scalar(f"train/{key}", scalar(value), self.global_step)

    # -- per epoch -------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self.writer.add_scalar("train/samples_per_second",  # as metrics.jsonl rounds it
                               round(state_of(self).samples_per_second, 1), self.global_step)
        pictures = (state_of(self).epoch - 1) % self.pictures_every == 0
        if self.histograms:
            self._norms(self.global_step)
            if pictures:
                self._histograms(self.global_step)
                self._filters(self.global_step)
        if pictures and self.images and self.tap is not None and self.tap.batch is not None:
            images, labels = self.tap.batch[0], np.asarray(self.tap.batch[1])
            self.writer.add_image("input/first_batch", image_grid(images, self.image_count),
                                  self.global_step)
            hard = labels.argmax(-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels
            names = [self._name(int(l)) for l in hard.reshape(-1)[:self.image_count]]
            self.writer.add_text("input/first_batch_labels", " ".join(names), self.global_step)
        if self.tap is not None:
            self.tap.arm()

    # -- per evaluation --------------------------------------------------------------------
    def on_eval_end(self, logs=None):
        logs = logs or {}
        step = int(logs.get("step", self.global_step))
        for key, value in logs.items():
            if key.startswith(("loss", "acc", "ema_")):
                self.writer.add_scalar(f"eval/{key}", scalar(value), step)
        last = self.collector.last() if self.collector is not None else None
        if self.curves and last is not None:
            probs, labels = last
            micro = micro_counts(probs, labels)
            write_pr_curve(self.writer, "pr/micro_average", micro, step)
            write_roc_curve(self.writer, "roc/micro_average", micro, step)
            if probs.shape[1] > self.curve_classes:
                return
            for index in range(probs.shape[1]):
                tag = f"class_{index}_{self._name(index)}"
                counts = threshold_counts(labels == index, probs[:, index])
                write_pr_curve(self.writer, f"pr/{tag}", counts, step)
                write_roc_curve(self.writer, f"roc/{tag}", counts, step)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def global_step(self) -> int:
        """Training batches of the whole run (the RunState's count): every record's x."""
        return state_of(self).global_step

    def _name(self, index: int) -> str:
        return self.class_names[index] if index < len(self.class_names) else str(index)

    def _arm_gradient_capture(self):
        self._remove_hooks()
        self.grads = {}
        for name, param in self.model.network.named_parameters():
            if not param.stop_gradient:
                self.hooks.append(param.register_hook(self._keeper(name)))

    def _keeper(self, name):
        def keep(grad):
            self.grads[name] = grad.numpy().copy()
            return grad
        return keep

    def _remove_hooks(self):
        for hook in self.hooks:
            hook.remove()
        self.hooks = []

    def _histograms(self, epoch: int):
        self._remove_hooks()
        for name, param in self.model.network.named_parameters():
            self.writer.add_histogram(f"weights/{name}", param.numpy().reshape(-1), epoch,
                                      buckets=30)
            if name in self.grads:
                self.writer.add_histogram(f"gradients/{name}", self.grads[name].reshape(-1),
                                          epoch, buckets=30)

    def _norms(self, epoch: int):
        for name, norm in layer_norms(self.model.network).items():
            self.writer.add_scalar(f"norms/weights/{name}", norm, epoch)
            if name in self.grads:
                self.writer.add_scalar(f"norms/gradients/{name}",
                                       float(np.linalg.norm(self.grads[name])), epoch)

    def _filters(self, epoch: int):
        conv = first_conv(self.model.network)
        if conv is not None:
            self.writer.add_image(f"weights/filters/{conv[0]}", filter_grid(conv[1].weight.numpy()),
                                  epoch)

    def _pictures_of_weights(self):
        """filters.png and feature_maps/<layer>.png (also VisualDL images `features/<layer>`):
        enlarged, on a stated colour scale, with the prediction for the sample image."""
        from ..visual.pictures import (
            feature_maps_figure,
            filters_figure,
            prediction_text,
        )
        from ..visual.plots import figure_to_array, save_figure
        conv = first_conv(self.model.network)
        if conv is None:
            return
        logdir = Path(self.logdir)
        save_figure(filters_figure(conv[1].weight.numpy(), conv[0]), logdir / "filters.png")
        if self.sample is None:
            return
        (logdir / "feature_maps").mkdir(exist_ok=True)
        outputs, probs = conv_outputs(self.model.network, self.sample)
        names = [self._name(i) for i in range(len(probs))]
        for name, maps in outputs.items():
            fig = feature_maps_figure(self.sample, maps, name, prediction_text(names, probs))
            self.writer.add_image(f"features/{name}", figure_to_array(fig), self.global_step)
            save_figure(fig, logdir / "feature_maps" / f"{name}.png")

    def _report_pictures(self, run_dir: Path) -> None:
        """The report's confusion matrix and top losses as images; per-class metrics as an
        image (VisualDL's Text tab folds tables into one line) and a one-line summary."""
        from ..visual.plots import figure_to_array, per_class_table_figure, pyplot
        for name, tag in (("confusion_matrix", "eval/confusion_matrix"),
                          ("top_losses", "eval/top_losses")):
            if (run_dir / f"{name}.png").is_file():
                self.writer.add_image(tag, read_image(run_dir / f"{name}.png", 3),
                                      self.global_step)
        report = read_json(run_dir / "per_class.json")
        if not report:
            return
        rows = report["classes"]
        fig = per_class_table_figure(rows)
        self.writer.add_image("eval/per_class_metrics", figure_to_array(fig), self.global_step)
        pyplot().close(fig)
        worst = sorted(rows, key=lambda r: r["f1"])[:3]
        self.writer.add_text("eval/per_class_summary", "lowest F1: " + "; ".join(
            f"{r['class']} {r['f1']:.4f} (precision {r['precision']:.4f}, recall "
            f"{r['recall']:.4f}, {r['support']} samples)" for r in worst)
            + " (the table of every class is under Image: eval/per_class_metrics)",
            self.global_step)
        names = [r["class"] for r in rows]
        counts = confusion_counts(run_dir)
        pairs = most_confused(counts, names, limit=5) if counts is not None else []
        if pairs:
            self.writer.add_text("eval/most_confused", "most confused (true -> predicted): "
                                 + "; ".join(f"{p['true']} -> {p['predicted']} {p['count']}x "
                                             f"({p['share']:.1%})" for p in pairs),
                                 self.global_step)


def read_json(path: Path):
    import json
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
