"""Probes take subsets that do not depend on the data set's order (an ImageFolder lists its
classes sorted: its first 50 samples are all of class 0)."""
import numpy as np

from paddle_suite import load_config
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
    data = build_data(cfg, train=True)
    assert data.train.labels[:50].tolist() == [0] * 10 + [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10
    _, labels = _batch(data.train, 50)
    assert np.bincount(labels, minlength=10).tolist() == [5] * 10
