"""bench/amp_check.py, the GPU machine's mixed-precision check, run here as its CPU harness
check: every arm trains, the killed-and-resumed run matches the straight one exactly."""
import subprocess
import sys

from ..conftest import ROOT, tiny_overrides


def test_the_amp_check_harness_runs_on_a_cpu(tmp_path):
    args = [sys.executable, str(ROOT / "bench" / "amp_check.py"), "--device", "cpu",
            "--epochs", "2"]
    for item in tiny_overrides(tmp_path):
        if not item.startswith(("Global.output_dir", "Global.epochs")):
            args += ["-o", item]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| float32 |" in proc.stdout and "| float32-again |" in proc.stdout
    assert "max |weight difference| 0;" in proc.stdout
    assert "checkpoint dtypes ['paddle.float32']" in proc.stdout


def test_without_a_gpu_the_check_says_so():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "amp_check.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no CUDA GPU visible" in proc.stderr
