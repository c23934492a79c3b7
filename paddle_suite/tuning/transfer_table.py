"""The transfer-learning table: from scratch / predict-only / frozen features + logistic
regression / train-head / train-all, for k labelled images per class, mean ± std over seeds
(final eval top-1, not the best epoch)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config.loader import load_config
from ..lifecycle.engine import evaluate, train
from .feature_linear import feature_linear

MODES = ("scratch", "predict_only", "features_linear", "train_head", "train_all")


def _overrides(mode: str, pretrained: str, k: int, seed: int, output_dir: str) -> list[str]:
    common = [f"Global.seed={seed}", f"DataLoader.Train.dataset.per_class={k}",
              f"DataLoader.Train.dataset.seed={seed}", f"Global.output_dir={output_dir}",
              "Callbacks.VisualDL=false", f"Global.experiment=transfer_k{k}_{mode}"]
    if mode == "scratch":
        return common + ["Arch.finetune=null", "Arch.pretrained=null"]
    if mode == "features_linear":
        return common + [f"Arch.pretrained={pretrained}", "Arch.finetune=null"]
    return common + [f"Arch.pretrained={pretrained}", f"Arch.finetune.mode={mode}"]


def transfer_table(config: str | Path, pretrained: str, ks=(5, 10, 50), seeds=(0, 1, 2),
                   output_dir: str = "logs") -> dict:
    """Run every (k, mode, seed); return {'rows': [...], 'markdown': str}."""
    results = {}
    for k in ks:
        for mode in MODES:
            accs = []
            for seed in seeds:
                cfg = load_config(config, _overrides(mode, pretrained, k, seed, output_dir))
                if mode == "predict_only":
                    accs.append(evaluate(cfg)["acc"])
                elif mode == "features_linear":
                    accs.append(feature_linear(cfg)["acc"])
                else:
                    accs.append(train(cfg).summary["final_eval"]["acc"])
            results[(k, mode)] = accs
    header = "| k per class | " + " | ".join(MODES) + " |"
    lines = [header, "|" + " --- |" * (len(MODES) + 1)]
    for k in ks:
        cells = [f"{100 * np.mean(results[(k, m)]):.1f} ± {100 * np.std(results[(k, m)]):.1f}"
                 for m in MODES]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    rows = [{"k": k, "mode": m, "accs": results[(k, m)]} for k in ks for m in MODES]
    return {"rows": rows, "markdown": "\n".join(lines) + "\n"}
