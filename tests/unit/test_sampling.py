"""Probes take subsets that do not depend on the data set's order (an ImageFolder lists its
classes sorted: its first 50 samples are all of class 0)."""
import numpy as np

from paddle_suite import load_config
from paddle_suite.config.sections import data_spec
from paddle_suite.data import build_data
from paddle_suite.data.sampling import balanced_indices
from paddle_suite.data.write import write_dataset
from paddle_suite.tuning.sanity import _batch

from ..conftest import LENET


def test_a_balanced_subset_deals_over_every_class_whatever_the_order():
    sorted_labels = np.repeat(np.arange(10), 30)  # an ImageFolder's order
    picked = balanced_indices(sorted_labels, 50, seed=3)
    assert len(set(picked)) == 50
    assert np.bincount(sorted_labels[picked], minlength=10).tolist() == [5] * 10
    assert balanced_indices(sorted_labels, 50, seed=3).tolist() == picked.tolist()  # seeded
    many = np.repeat(np.arange(200), 3)  # more classes than samples asked for
    assert len(set(many[balanced_indices(many, 50)])) == 50


def test_the_sanity_probes_see_every_class_of_an_image_folder(tmp_path):
    write_dataset("sklearn_digits", tmp_path / "digits", "imagefolder", per_class=10)
    cfg = load_config(LENET, [f"Global.output_dir={tmp_path}",
                              f"DataLoader.Train.dataset={{name: ImageFolder, root: "
                              f"{tmp_path / 'digits' / 'train'}}}", "DataLoader.Eval=null"])
    data = build_data(data_spec(cfg), train=True)
    assert data.train.labels[:50].tolist() == [0] * 10 + [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10
    _, labels = _batch(data.train, 50)
    assert np.bincount(labels, minlength=10).tolist() == [5] * 10


def test_permuted_labels_are_flagged_and_real_ones_pass(tmp_path):
    """Zhang et al.'s control: on the UCI digits as a PaddleClas list, the real labels beat
    shuffled ones on held-out samples; with the list's labels permuted they do not."""
    from paddle_suite.tuning.sanity import label_signal
    write_dataset("sklearn_digits", tmp_path / "d", "paddleclas")
    lines = (tmp_path / "d" / "train_list.txt").read_text().splitlines()
    labels = np.random.default_rng(0).permutation([line.split()[1] for line in lines])
    (tmp_path / "d" / "permuted.txt").write_text(
        "".join(f"{line.split()[0]} {label}\n" for line, label in zip(lines, labels)))
    verdicts = {}
    for name in ("train_list.txt", "permuted.txt"):
        cfg = load_config(LENET, [f"Global.output_dir={tmp_path}", "DataLoader.Eval=null",
                                  f"DataLoader.Train.dataset={{name: FileList, image_root: "
                                  f"{tmp_path / 'd'}, cls_label_path: {tmp_path / 'd' / name}}}"])
        verdicts[name] = label_signal(cfg, build_data(data_spec(cfg), train=True).train, seed=0)
    assert verdicts["train_list.txt"]["verdict"] == "pass", verdicts["train_list.txt"]
    assert verdicts["permuted.txt"]["verdict"] == "warn", verdicts["permuted.txt"]
    assert "shuffled" in verdicts["permuted.txt"]["advice"]
