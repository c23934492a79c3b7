"""bench/reproduce.py re-measures the headline figures: run as a user would, on a tiny run."""
import json
import subprocess
import sys

from ..conftest import ROOT, tiny_overrides


def test_reproduce_prints_seeds_mean_range_and_the_cpu(tmp_path):
    args = [sys.executable, str(ROOT / "bench" / "reproduce.py"), "--seeds", "1", "2",
            "--json", str(tmp_path / "r.json")]
    for item in tiny_overrides(tmp_path, epochs=1, **{"Callbacks.VisualDL": "false"}):
        if not item.startswith("Global.output_dir"):
            args += ["-o", item]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["seed"] for r in report["runs"]] == [1, 2]
    assert all(0.5 < r["final"] <= 1 and r["fit_seconds"] > 0 for r in report["runs"])
    assert "CPU: " in proc.stdout and report["cpu"] in proc.stdout
    assert "| mean (range) | **" in proc.stdout
