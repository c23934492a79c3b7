"""The LR finder's decisions after the sweep: which checked LR wins, when a sweep saw no
real descent."""
import math

import numpy as np

from paddle_suite.tuning.lr_find import best_checked, no_descent


def test_the_checked_lr_with_the_lowest_final_loss_wins_and_a_diverged_one_never():
    checks = [{"lr": 0.1, "final_loss": math.inf},  # diverged
              {"lr": 0.03, "final_loss": 0.91},
              {"lr": 0.01, "final_loss": 0.86},
              {"lr": 0.003, "final_loss": 1.2}]
    assert best_checked(checks) == 0.01
    tie = [{"lr": 0.01, "final_loss": 0.9}, {"lr": 0.003, "final_loss": 0.9}]
    assert best_checked(tie) == 0.01


def test_a_sweep_whose_loss_hardly_fell_is_flagged():
    flat = np.linspace(2.30, 2.21, 100)  # 4% below the start at best
    assert "fell only 4%" in no_descent(flat)
    assert no_descent(np.linspace(2.30, 0.9, 100)) is None
