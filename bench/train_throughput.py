"""Training throughput of `train()` (what tools/train.py runs, default logging and
checkpointing) against hand-written paddle dygraph loops, same threads. Runs are interleaved
with a rotating order so machine noise hits every arm alike.

    OMP_NUM_THREADS=1 python bench/train_throughput.py --epochs 2 --rounds 6

Arms (evaluation off unless the name says `eval`):
- `user_loop`: the loop a user writes without the suite, recipe of configs/lenet.yaml:
  paddle.vision's MNIST reader over the bundled files with paddle.vision transforms
  (RandomAffine, ToTensor, Normalize), paddle.io.DataLoader, LeNet written out as an
  nn.Sequential (ReLU between its Linear layers, as the recipe's `head_activation`),
  F.cross_entropy with label smoothing, Adam + L2 + per-update cosine, the loss read every
  batch;
- `loop`: the same loop over the very objects train() builds (its data pipeline included);
- `hapi`: bare `paddle.Model.fit` over them (no metrics, one LR callback);
- `train`, `train_no_vdl`: `train()` with default logging, and with VisualDL off;
- `train_eval`, `train_eval_no_vdl`: the same with evaluation every epoch (the default), to
  price VisualDL logging where users run it.
The loops are timed over their epochs; `train()` arms report the run's own samples/s
(RunState: training time of each epoch, as metrics.jsonl and VisualDL show it), and the
script also prints their samples over `fit`'s wall time (per-epoch work: checkpoints,
evaluation, logging, end-of-run pictures) and over the whole `train()` call (set-up and the
report too). `--visualdl-cost` instead runs configs/lenet.yaml as it is (25 epochs,
evaluation on) with VisualDL on and off and compares the whole `train()` call.
"""
import argparse
import logging
import os
import tempfile
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle
import numpy as np  # noqa: E402

from paddle_suite import load_config, train  # noqa: E402
from paddle_suite.config.sections import data_spec
from paddle_suite.data import build_data  # noqa: E402
from paddle_suite.lifecycle.engine import seed_everything  # noqa: E402
from paddle_suite.models import build_model  # noqa: E402
from paddle_suite.training.losses import build_loss  # noqa: E402
from paddle_suite.training.optim import build_optimizer, build_schedule  # noqa: E402

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "lenet.yaml")


def suite_run(epochs, out_dir, visualdl=True, evaluate=False):
    cfg = load_config(CONFIG, [f"Global.epochs={epochs}", f"Global.output_dir={out_dir}"]
                      + ([] if evaluate else ["DataLoader.Eval=null"])
                      + ([] if visualdl else ["Callbacks.VisualDL=false"]))
    start = time.perf_counter()
    result = train(cfg)
    whole = time.perf_counter() - start
    summary = result.summary
    WALL.setdefault((visualdl, evaluate), []).append(
        (8000 * epochs / summary["wall_seconds"], 8000 * epochs / whole))
    return summary["train_samples_per_second"]


WALL = {}  # (visualdl, evaluate) -> [(samples/s over fit's wall time, over the whole call)]


def user_loop(epochs):
    """configs/lenet.yaml's recipe as a user writes it with paddle alone."""
    import paddle.vision.transforms as T
    from paddle.vision.datasets import MNIST

    from paddle_suite.data.datasets import BUNDLED_MNIST
    paddle.seed(42)
    transform = T.Compose([T.RandomAffine(8, translate=(0.08, 0.08)), T.ToTensor(),
                           T.Normalize([0.5], [0.5])])
    data = MNIST(image_path=str(BUNDLED_MNIST / "train-images-idx3-ubyte.gz"),
                 label_path=str(BUNDLED_MNIST / "train-labels-idx1-ubyte.gz"), mode="train",
                 transform=transform, backend="cv2")
    loader = paddle.io.DataLoader(data, batch_size=64, shuffle=True)
    nn = paddle.nn
    net = nn.Sequential(nn.Conv2D(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2, 2),
                        nn.Conv2D(6, 16, 5), nn.ReLU(), nn.MaxPool2D(2, 2), nn.Flatten(),
                        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                        nn.Linear(84, 10))
    sched = paddle.optimizer.lr.CosineAnnealingDecay(2e-3, T_max=epochs * len(loader))
    opt = paddle.optimizer.Adam(sched, parameters=net.parameters(),
                                weight_decay=paddle.regularizer.L2Decay(1e-4))
    net.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for images, labels in loader:
            loss = paddle.nn.functional.cross_entropy(  # [N] labels: see losses.py
                net(images), labels.reshape([-1]), label_smoothing=0.1)
            loss.backward()
            opt.step()
            opt.clear_grad()
            sched.step()
            float(loss)
    return len(data) * epochs / (time.perf_counter() - start)


def hand_loop(epochs):
    """The same objects train() builds (data, model, loss, optimizer, schedule), driven by hand."""
    cfg = load_config(CONFIG, [f"Global.epochs={epochs}", "DataLoader.Eval=null"])
    seed_everything(42)
    data = build_data(data_spec(cfg), evaluate=False)
    net = build_model(cfg["Arch"])
    loss_fn = build_loss(cfg["Loss"])
    sched, _ = build_schedule(cfg["Optimizer"]["lr"], epochs, len(data.train_loader))
    opt = build_optimizer(cfg["Optimizer"], net.parameters(), sched)
    net.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for images, labels in data.train_loader:
            loss = loss_fn(net(images), labels)
            loss.backward()
            opt.step()
            opt.clear_grad()
            sched.step()
            float(loss)  # a loop that reports its loss syncs once per batch, as hapi does
    return 8000 * epochs / (time.perf_counter() - start)


def bare_hapi(epochs):
    """paddle.Model.fit over the same objects with no metrics and only an LR-step callback:
    what hapi itself costs before the suite adds anything."""
    cfg = load_config(CONFIG, [f"Global.epochs={epochs}", "DataLoader.Eval=null"])
    seed_everything(42)
    data = build_data(data_spec(cfg), evaluate=False)
    net = build_model(cfg["Arch"])
    sched, _ = build_schedule(cfg["Optimizer"]["lr"], epochs, len(data.train_loader))
    model = paddle.Model(net)
    model.prepare(build_optimizer(cfg["Optimizer"], net.parameters(), sched),
                  build_loss(cfg["Loss"]))
    start = time.perf_counter()
    model.fit(data.train_loader, epochs=epochs, verbose=0,
              callbacks=[paddle.callbacks.LRScheduler(by_step=True, by_epoch=False)])
    return 8000 * epochs / (time.perf_counter() - start)


def visualdl_cost(rounds):
    """configs/lenet.yaml as users run it, VisualDL on and off, paired by round."""
    times = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as out:
        for r in range(rounds):
            for arm in (("on", "off") if r % 2 == 0 else ("off", "on")):
                cfg = load_config(CONFIG, [f"Global.output_dir={out}"]
                                  + ([] if arm == "on" else ["Callbacks.VisualDL=false"]))
                start = time.perf_counter()
                train(cfg)
                times[arm].append(time.perf_counter() - start)
            print(f"round {r + 1}: VisualDL on {times['on'][-1]:.1f} s, off "
                  f"{times['off'][-1]:.1f} s", flush=True)
    ratio = np.array(times["on"]) / np.array(times["off"])
    print(f"whole train() with VisualDL / without: median {np.median(ratio):.3f} "
          f"(min {ratio.min():.3f}, max {ratio.max():.3f}); median {np.median(times['on']):.1f}"
          f" s vs {np.median(times['off']):.1f} s, {rounds} rounds")


def paired(label, numerator, denominator):
    ratios = np.array(numerator) / np.array(denominator)
    print(f"{label}: median {np.median(ratios):.3f} (min {ratios.min():.3f}, "
          f"max {ratios.max():.3f}); median {np.median(numerator):.0f} samples/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--visualdl-cost", action="store_true",
                        help="the default config as it is, VisualDL on vs off, whole train()")
    args = parser.parse_args()
    paddle.set_device("cpu")
    logging.getLogger("paddle_suite").setLevel(logging.WARNING)
    if args.visualdl_cost:
        return visualdl_cost(args.rounds)
    arms = {"user_loop": user_loop, "loop": hand_loop, "hapi": bare_hapi}
    with tempfile.TemporaryDirectory() as out:
        arms["train"] = lambda epochs: suite_run(epochs, out)
        arms["train_no_vdl"] = lambda epochs: suite_run(epochs, out, visualdl=False)
        arms["train_eval"] = lambda epochs: suite_run(epochs, out, evaluate=True)
        arms["train_eval_no_vdl"] = lambda epochs: suite_run(epochs, out, visualdl=False,
                                                             evaluate=True)
        rates = {name: [] for name in arms}
        for r in range(args.rounds):  # rotate the order so no arm always goes first
            order = list(arms)[r % len(arms):] + list(arms)[:r % len(arms)]
            for name in order:
                rates[name].append(arms[name](args.epochs))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items())
                  + " samples/s", flush=True)
    for base in ("user_loop", "loop"):
        for name in ("loop", "hapi", "train", "train_no_vdl"):
            if name != base:
                paired(f"{name}/{base}", rates[name], rates[base])
    paired("train/train_no_vdl (VisualDL logging, evaluation off)", rates["train"],
           rates["train_no_vdl"])
    paired("train_eval/train_eval_no_vdl (VisualDL logging, evaluation on)",
           rates["train_eval"], rates["train_eval_no_vdl"])
    for (visualdl, evaluate), pairs in sorted(WALL.items()):
        fit, whole = np.median(np.array(pairs), axis=0)
        print(f"train(VisualDL {'on' if visualdl else 'off'}, evaluation "
              f"{'on' if evaluate else 'off'}): median {fit:.0f} samples/s over fit's wall "
              f"time, {whole:.0f} over the whole train() call")
    loop = np.array(rates["loop"])
    print(f"loop: median {np.median(loop):.0f} samples/s; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{args.rounds} rounds x {args.epochs} epochs")


if __name__ == "__main__":
    main()
