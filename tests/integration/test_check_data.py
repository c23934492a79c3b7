"""tools/check_data.py on the bundled MNIST subset and on a file-list tree with injected
unreadable files, duplicates, train/eval leakage and swapped labels."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from paddle_suite import load_config, train
from paddle_suite.config.sections import data_spec
from paddle_suite.data import build_data

from ..conftest import LENET, ROOT

SWAPPED = 12  # digits 1 written into the list as 7


def run_tool(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "check_data.py"), *args],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    return train(load_config(LENET, ["Global.epochs=2", f"Global.output_dir={out}",
                                     "Callbacks.VisualDL=false"]))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """300 train and 100 eval MNIST digits as PNG files and PaddleClas list files, then:
    2 unreadable train files, 3 eval images copied into train, a train image listed twice
    under another name, another listed twice with a different label, 12 ones labelled 7."""
    root = tmp_path_factory.mktemp("tree")
    cfg = load_config(LENET, [f"Global.output_dir={root}"])
    data = build_data(data_spec(cfg), train=True)
    lists = {"train": [], "eval": []}
    for split, view, count in (("train", data.train, 300), ("eval", data.eval, 100)):
        (root / split).mkdir()
        for i in range(count):
            image, label = view.base[int(view.indices[i])]
            name = f"{split}/{i:04d}.png"
            cv2.imwrite(str(root / name), np.asarray(image))
            lists[split].append([name, int(label)])
    for k in range(2):
        (root / f"train/broken{k}.png").write_bytes(b"\x89PNG not really")
        lists["train"].append([f"train/broken{k}.png", 0])
    for k in range(3):
        (root / f"train/leak{k}.png").write_bytes((root / lists["eval"][k][0]).read_bytes())
        lists["train"].append([f"train/leak{k}.png", lists["eval"][k][1]])
    (root / "train/copy.png").write_bytes((root / lists["train"][10][0]).read_bytes())
    lists["train"].append(["train/copy.png", lists["train"][10][1]])
    (root / "train/relabelled.png").write_bytes((root / lists["train"][11][0]).read_bytes())
    lists["train"].append(["train/relabelled.png", (lists["train"][11][1] + 1) % 10])
    ones = [row for row in lists["train"][:300] if row[1] == 1][:SWAPPED]
    for row in ones:
        row[1] = 7
    for split, rows in lists.items():
        (root / f"{split}.txt").write_text("".join(f"{n} {l}\n" for n, l in rows))
    return root, {row[0] for row in ones}


def overrides(root):
    return [f"Global.output_dir={root / 'logs'}",
            f"DataLoader.Train.dataset={{name: FileList, image_root: {root}, "
            f"cls_label_path: {root / 'train.txt'}}}",
            f"DataLoader.Eval.dataset={{name: FileList, image_root: {root}, "
            f"cls_label_path: {root / 'eval.txt'}}}"]


def test_the_bundled_subset_is_clean(tmp_path):
    proc = run_tool("-c", str(LENET), "-o", f"Global.output_dir={tmp_path}", "--out",
                    str(tmp_path / "check"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Train: 8000 samples; sizes (HxWxC) 28x28x1 x8000; classes 10" in proc.stdout
    found = json.loads((tmp_path / "check" / "data_check.json").read_text())
    assert found["problems"] == 0 and not found["duplicates"]["across"]
    assert sum(found["sets"]["Eval"]["class_counts"].values()) == 2000
    for picture in ("class_counts.png", "samples.png"):
        assert cv2.imread(str(tmp_path / "check" / picture)) is not None


def test_injected_faults_are_found(tree, trained, tmp_path):
    root, swapped = tree
    args = ["-c", str(LENET), "--out", str(tmp_path / "check"), "--run", str(trained.run_dir)]
    for item in overrides(root):
        args += ["-o", item]
    proc = run_tool(*args)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # problems to fix before training
    found = json.loads((tmp_path / "check" / "data_check.json").read_text())
    unreadable = [u["where"] for u in found["sets"]["Train"]["unreadable"]]
    assert len(unreadable) == 2 and all("broken" in u for u in unreadable)
    leaks = found["duplicates"]["across"]
    assert len(leaks) == 3 and all({e["set"] for e in g} == {"Train", "Eval"} for g in leaks)
    conflicting = found["duplicates"]["conflicting_labels"]
    assert len(conflicting) == 1 and any("relabelled.png" in e["where"]
                                         for e in conflicting[0])
    within = found["duplicates"]["within"]["Train"]
    assert {frozenset(os.path.basename(e["where"].split(" ")[0]) for e in g) for g in within} \
        == {frozenset({"0010.png", "copy.png"}), frozenset({"0011.png", "relabelled.png"})}
    assert any("train.txt, line 307" in e["where"] for e in conflicting[0])  # the file and its list line
    issues = found["label_issues"]["Train"]
    assert issues["features"] == "embeddings" and issues["checked"] == 300 + 3 + 2
    suspects = {os.path.relpath(s["where"].split(" ")[0], root)
                for s in issues["likely_mislabelled"]}
    caught = swapped & suspects
    print(f"swapped ones: {len(caught)} of {SWAPPED} found, {len(suspects)} flagged")
    assert len(caught) >= SWAPPED * 2 // 3, (sorted(caught), sorted(suspects))
    assert len(suspects - swapped) <= len(caught) // 2, sorted(suspects - swapped)
    assert all(s["suggested"] == 1 for s in issues["likely_mislabelled"]
               if os.path.relpath(s["where"].split(" ")[0], root) in swapped)
    assert (tmp_path / "check" / "label_issues.png").is_file()
    assert "leakage: identical images in train and eval: 3" in proc.stdout


def test_two_reader_processes_find_what_one_finds_and_a_sample_reads_less(tree, tmp_path):
    from paddle_suite.data.check import check_data
    root, _ = tree
    cfg = load_config(LENET, overrides(root))
    one, two = (check_data(data_spec(cfg), tmp_path / f"w{n}", workers=n) for n in (1, 2))
    for found in (one, two):
        found.pop("out_dir")
    assert one == two and one["problems"] == 2 + 3 + 1  # unreadable, leaks, conflicting
    sampled = check_data(data_spec(cfg), tmp_path / "s", sample=50, workers=2)
    assert 50 <= sampled["samples_read"]["Train"] < 60
    assert sum(sampled["sets"]["Train"]["class_counts"].values()) == 300 + 2 + 3 + 2


def test_channels_are_reported_as_the_files_hold_them(tmp_path):
    """A grey PNG among RGB ones, read for a 3-channel model, is still counted as grey."""
    from paddle_suite.data.check import check_data
    root = tmp_path / "mixed"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for n in range(3):
            cv2.imwrite(str(root / label / f"{n}.png"), np.full((8, 8, 3), 90 * n, np.uint8))
    cv2.imwrite(str(root / "a" / "grey.png"), np.full((8, 8), 200, np.uint8))
    cfg = load_config(LENET, [f"Global.output_dir={tmp_path}", "Arch.class_num=2",
                              "Arch.in_channels=3", "DataLoader.Eval=null", "Metric.topk=[1]",
                              f"DataLoader.Train.dataset={{name: ImageFolder, root: {root}}}"])
    found = check_data(data_spec(cfg), tmp_path / "out", workers=1)
    assert found["sets"]["Train"]["shapes"] == {"8x8x3": 6, "8x8x1": 1}
