"""Training throughput of `train()` (what tools/train.py runs, default logging and
checkpointing) vs a hand-written paddle dygraph loop over the very objects train() builds from
configs/lenet.yaml (data pipeline, LeNet, loss, optimizer + L2, per-step schedule), same threads. Runs are interleaved (A B A B ...) so machine noise hits both alike.

    OMP_NUM_THREADS=1 python bench/train_throughput.py --epochs 3 --rounds 3

Evaluation is off in both (this measures training); `train()` is timed over `fit` only
(summary.json's wall_seconds), the loop over its epochs only. A fourth arm runs train()
with VisualDL logging off, to price the default logging.
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
from paddle_suite.data import build_data  # noqa: E402
from paddle_suite.engine import seed_everything  # noqa: E402
from paddle_suite.losses import build_loss  # noqa: E402
from paddle_suite.optim import build_optimizer, build_schedule  # noqa: E402
from paddle_suite.models import build_model  # noqa: E402

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "lenet.yaml")


def suite_run(epochs, out_dir, visualdl=True):
    cfg = load_config(CONFIG, [f"Global.epochs={epochs}", f"Global.output_dir={out_dir}",
                               "DataLoader.Eval=null"]
                      + ([] if visualdl else ["Callbacks.VisualDL=false"]))
    result = train(cfg)
    return 8000 * epochs / result.summary["wall_seconds"]


def hand_loop(epochs):
    """The same objects train() builds (data, model, loss, optimizer, schedule), driven by hand."""
    cfg = load_config(CONFIG, [f"Global.epochs={epochs}", "DataLoader.Eval=null"])
    seed_everything(42)
    data = build_data(cfg, evaluate=False)
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
    data = build_data(cfg, evaluate=False)
    net = build_model(cfg["Arch"])
    sched, _ = build_schedule(cfg["Optimizer"]["lr"], epochs, len(data.train_loader))
    model = paddle.Model(net)
    model.prepare(build_optimizer(cfg["Optimizer"], net.parameters(), sched),
                  build_loss(cfg["Loss"]))
    start = time.perf_counter()
    model.fit(data.train_loader, epochs=epochs, verbose=0,
              callbacks=[paddle.callbacks.LRScheduler(by_step=True, by_epoch=False)])
    return 8000 * epochs / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    paddle.set_device("cpu")
    logging.getLogger("paddle_suite").setLevel(logging.WARNING)
    arms = {"loop": hand_loop, "hapi": bare_hapi}
    rates = {"loop": [], "hapi": [], "train": [], "train_no_vdl": []}
    with tempfile.TemporaryDirectory() as out:
        arms["train"] = lambda epochs: suite_run(epochs, out)
        arms["train_no_vdl"] = lambda epochs: suite_run(epochs, out, visualdl=False)
        for r in range(args.rounds):  # rotate the order so no arm always goes first
            order = list(arms)[r % len(arms):] + list(arms)[:r % len(arms)]
            for name in order:
                rates[name].append(arms[name](args.epochs))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items())
                  + " samples/s", flush=True)
    loop = np.array(rates["loop"])
    for name in ("hapi", "train", "train_no_vdl"):
        ratios = np.array(rates[name]) / loop
        print(f"{name}/loop: median {np.median(ratios):.3f} (min {ratios.min():.3f}, "
              f"max {ratios.max():.3f}); median {np.median(rates[name]):.0f} samples/s")
    vdl = np.array(rates["train"]) / np.array(rates["train_no_vdl"])
    print(f"train/train_no_vdl (cost of default VisualDL logging): median {np.median(vdl):.3f} "
          f"(min {vdl.min():.3f}, max {vdl.max():.3f})")
    print(f"loop: median {np.median(loop):.0f} samples/s; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"{args.rounds} rounds x {args.epochs} epochs")


if __name__ == "__main__":
    main()
