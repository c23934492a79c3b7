"""bench/epoch_bytes.py: one checkpoint write per epoch, measured as a user would."""
import re
import subprocess
import sys

import paddle

from ..conftest import ROOT


def test_an_epoch_writes_the_weights_and_optimizer_state_once():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "epoch_bytes.py"),
                           "-o", "Callbacks.VisualDL=false"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    per_epoch = int(re.search(r"per epoch ([\d,]+) bytes", proc.stdout)[1].replace(",", ""))
    weights = 4 * sum(p.size for p in paddle.vision.models.LeNet(num_classes=2).parameters())
    # the resume checkpoint (weights + Adam's two moments): ~3x the weights, best.pdparams
    # being the same file when the epoch improved; a second copy of the weights (best beside
    # the resume checkpoint) would make it ~4x, of the last state (last.pdparams/.pdopt) ~7x
    assert 3 * weights < per_epoch < 3.6 * weights, (per_epoch, weights)


def test_best_top_k_last_and_final_are_one_file_when_they_hold_the_same_weights(tmp_path):
    """The checkpoint store writes each set of weights once: an epoch that improved is
    written as best.pdparams and its resume checkpoint, top-k file, last and final are links
    to it (one inode); weights that differ (an earlier best) are their own file."""
    from paddle_suite import load_config, train

    from ..conftest import LENET, tiny_overrides
    result = train(load_config(LENET, tiny_overrides(
        tmp_path, epochs=2, **{"Callbacks.Checkpoint.top_k": 2, "Callbacks.VisualDL": "false",
                               "Optimizer.lr.learning_rate": 0.0005})))
    ckpt = result.run_dir / "checkpoints"
    assert result.summary["best_epoch"] == 2  # a run whose last epoch is its best
    inode = (ckpt / "best.pdparams").stat().st_ino
    same = [ckpt / "final.pdparams", ckpt / "last.pdparams",
            ckpt / "resume" / "epoch-0002" / "network.pdparams",
            *[p for p in ckpt.glob("top-e002-*.pdparams")]]
    assert len(same) == 4 and all(p.stat().st_ino == inode for p in same), same
    earlier = next(ckpt.glob("top-e001-*.pdparams"))
    assert earlier.stat().st_ino != inode
    assert (ckpt / "resume" / "epoch-0001" / "network.pdparams").stat().st_ino == \
        earlier.stat().st_ino


def test_weights_a_callback_keeps_are_files_of_the_checkpoint_not_pickled_state(tmp_path):
    """EMA's shadow and early stopping's best weights are files of the resume checkpoint
    that state.pkl names (best weights equal to best.pdparams are a link to it); a resumed
    run gets them back."""
    import pickle

    import numpy as np

    from paddle_suite import load_config, train
    from paddle_suite.runs.resume_checkpoint import locate

    from ..conftest import LENET, tiny_overrides
    result = train(load_config(LENET, tiny_overrides(tmp_path, epochs=2, **{
        "Callbacks.VisualDL": "false", "Optimizer.lr.learning_rate": 0.0005,
        "Callbacks.EMA": "{decay: 0.99}",
        "Callbacks.EarlyStopping": "{monitor: loss, patience: 3, restore_best_weights: true}"})))
    ckpt = result.run_dir / "checkpoints"
    assert result.summary["best_epoch"] == 2
    resume = ckpt / "resume" / "epoch-0002"
    best = resume / "early_stopping.best_weights.pdparams"
    assert best.stat().st_ino == (ckpt / "best.pdparams").stat().st_ino
    state = pickle.loads((resume / "state.pkl").read_bytes())
    assert state["callbacks"]["ema"]["shadow"] == {"weights_file": "ema.shadow.pdparams"}
    assert state["callbacks"]["early_stopping"]["best_weights"] == \
        {"weights_file": "early_stopping.best_weights.pdparams"}
    # random states and counters only: a tenth of one copy of the weights
    assert (resume / "state.pkl").stat().st_size < (ckpt / "best.pdparams").stat().st_size / 10
    _, _, loaded = locate(result.run_dir).load()
    shadow = loaded["callbacks"]["ema"]["shadow"]
    assert shadow.keys() == {n for n, p in result.model.network.named_parameters()}
    kept = loaded["callbacks"]["early_stopping"]["best_weights"]
    assert all(np.array_equal(kept[k], v.numpy())
               for k, v in result.model.network.state_dict().items())
