"""Latency of the exported model under Paddle Inference vs the dygraph model vs onnxruntime,
batch 1 and batch 64, on LeNet (1x28x28) and ResNet18 (3x64x64), measured side by side.

    OMP_NUM_THREADS=1 python bench/inference_latency.py

Random weights (latency does not depend on them). Five rounds; in each, every runtime runs
a block of `--repeats` calls after 5 warm-up calls; a figure is the median over rounds of
the block medians.
"""
import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import paddle
import numpy as np  # noqa: E402
from paddle.static import InputSpec  # noqa: E402

from paddle_suite.deploy.export import predictor, run_predictor  # noqa: E402
from paddle_suite.models import MODELS  # noqa: E402


def timed(fn, repeats):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def bench(name, net, shape, repeats, out):
    net.eval()
    paddle.jit.save(net, str(out / "inference"), input_spec=[InputSpec([None, *shape], "float32", "x")])
    pred = predictor(out)
    onnx = None
    try:
        from paddle_suite.deploy.onnx import onnx_session, run_onnx, to_onnx
        session = onnx_session(to_onnx(out))
        onnx = lambda x: run_onnx(session, x)  # noqa: E731
    except Exception as exc:  # noqa: BLE001
        print(f"  (onnxruntime skipped: {exc})")
    for batch in (1, 64):
        x = np.random.default_rng(0).normal(size=(batch, *shape)).astype("float32")
        runners = {"dygraph": lambda: net(paddle.to_tensor(x)).numpy(),
                   "paddle.inference": lambda: run_predictor(pred, x)}
        if onnx:
            runners["onnxruntime"] = lambda: onnx(x)
        with paddle.no_grad():
            times = {k: [] for k in runners}
            for _ in range(5):  # rounds; within a round each runtime runs a block of calls
                for key, fn in runners.items():
                    timed(fn, 5)  # warm-up after switching runtimes
                    times[key].append(np.median(timed(fn, repeats)))
        medians = {k: np.median(v) * 1000 for k, v in times.items()}
        cells = ", ".join(f"{k} {v:.3f} ms" for k, v in medians.items())
        ratio = medians["dygraph"] / medians["paddle.inference"]
        print(f"{name} batch {batch}: {cells}; dygraph/inference {ratio:.2f}x", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    paddle.set_device("cpu")
    paddle.seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        bench("LeNet", MODELS["LeNet"](class_num=10, in_channels=1), (1, 28, 28), args.repeats,
              Path(tmp) / "lenet")
        bench("ResNet18", MODELS["ResNet18"](class_num=10, in_channels=3), (3, 64, 64),
              max(20, args.repeats // 10), Path(tmp) / "resnet18")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


if __name__ == "__main__":
    main()
