"""Bad data during training: the paddle DataLoader hang we work around, and clear errors."""
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from paddle_suite import DataError, load_config, train
from paddle_suite.data.datasets import mnist10k

HANG = textwrap.dedent("""
    import numpy as np, paddle
    class Bad(paddle.io.Dataset):
        def __getitem__(self, i):
            if i == 5:
                raise ValueError("unreadable sample")
            return np.zeros((1, 4, 4), "float32"), np.int64(0)
        def __len__(self):
            return 10
    for batch in paddle.io.DataLoader(Bad(), batch_size=4, num_workers=0):
        pass
    print("finished")
""")


def test_paddle_dataloader_hangs_when_a_sample_fails_in_its_thread():
    """The paddle defect behind data/failures.py. If this starts failing (the loop finishes
    or raises), paddle fixed it and the workaround can go."""
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", HANG], capture_output=True, timeout=8)


def image_tree(root, per_class=40):
    digits = mnist10k("test")
    for label in (0, 1):
        folder = root / str(label)
        folder.mkdir(parents=True)
        for i, index in enumerate(np.flatnonzero(digits.labels == label)[:per_class]):
            cv2.imwrite(str(folder / f"{i:03d}.png"), digits.images[index][:, :, 0])
    bad = root / "1" / "017.png"
    bad.write_bytes(bad.read_bytes()[:50])
    return bad


def config(root, out, workers):
    data = {"Global": {"epochs": 2, "output_dir": str(out)},
            "Arch": {"name": "LeNet", "class_num": 2}, "Metric": {"topk": [1]},
            "DataLoader": {"Train": {"dataset": {"name": "ImageFolder", "root": str(root)},
                                     "batch_size": 16, "num_workers": workers}}}
    return load_config(None, data=data)


def test_a_corrupt_image_stops_training_with_its_name_instead_of_hanging(tmp_path):
    bad = image_tree(tmp_path / "data")
    with pytest.raises(DataError, match=f"Cannot read image {bad}"):
        train(config(tmp_path / "data", tmp_path / "logs", workers=0))


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failing_worker_is_a_clear_error(tmp_path):
    image_tree(tmp_path / "data")
    with pytest.raises(DataError, match=r"DataLoader worker failed .*: Cannot read image "
                                        r".*017\.png: the file is truncated"):
        train(config(tmp_path / "data", tmp_path / "logs", workers=1))


def test_skip_bad_samples_trains_on_the_rest_and_lists_every_kind(tmp_path):
    root = tmp_path / "data"
    bad = image_tree(root)  # one truncated PNG
    entries = sorted(p.relative_to(root) for p in root.rglob("*.png"))
    lines = [f"{p} {p.parts[0]}" for p in entries]
    (root / "0" / "extra.png").write_bytes((root / entries[0]).read_bytes())
    lines += [f"{entries[0]} 0", "0/missing.png 0", "0/extra.png 7"]  # duplicate, missing, label
    listing = root / "train.txt"
    listing.write_text("\n".join(lines) + "\n")
    data = {"Global": {"epochs": 1, "output_dir": str(tmp_path / "logs")},
            "Arch": {"name": "LeNet", "class_num": 2}, "Metric": {"topk": [1]},
            "DataLoader": {"skip_bad_samples": True,
                           "Train": {"dataset": {"name": "FileList", "image_root": str(root),
                                                 "cls_label_path": str(listing)},
                                     "batch_size": 16}}}
    result = train(load_config(None, data=data))
    report = __import__("json").loads((result.run_dir / "bad_samples.json").read_text())
    problems = " | ".join(f"{s['where']}: {s['problem']}" for s in report["samples"])
    assert report["count"] == 4, problems
    assert "listed twice" in problems and "missing.png does not exist" in problems
    assert "label 7 outside [0, 2)" in problems and f"Cannot read image {bad}" in problems
    assert result.summary["status"] == "completed"
