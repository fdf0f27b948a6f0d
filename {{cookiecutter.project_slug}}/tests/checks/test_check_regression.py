"""check.py on a user's own regression data: what needs classes says SKIP, the ridge baseline, the input
signal and overfit_one_batch on standardized targets (moved from tests/core/test_regression.py)."""

import json

from conftest import run_script
from data_files import CURVE, own_regression_env


def test_check_py_on_regression_skips_what_needs_classes(tmp_path):
    env = own_regression_env(tmp_path)
    process = run_script("check.py", f"hydra.run.dir={tmp_path}", *CURVE, env=env, timeout=400)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    verdicts = {c["check"]: c for c in json.loads((tmp_path / "checks.json").read_text())["checks"]}
    assert {name for name, c in verdicts.items() if c["status"] == "SKIP"} == {"labels", "class_balance", "loss_at_init"}
    assert verdicts["baselines"]["status"] == "PASS" and verdicts["baselines"]["numbers"]["baseline/ridge_r2"] > 0.8
    signal = verdicts["input_signal"]["numbers"]  # standardized MSE: zeroed inputs explain nothing (~1)
    assert verdicts["input_signal"]["status"] == "PASS" and signal["real_loss"] < 0.6 < signal["zeroed_loss"]
    assert verdicts["overfit_one_batch"]["status"] == "PASS"
