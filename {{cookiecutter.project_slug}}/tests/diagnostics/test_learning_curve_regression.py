"""The learning curve of a regression sweep (experiment=learning_curve on a user's own regression data):
fit/train_r2 and val/r2 by training examples, and its plot (moved from tests/core/test_regression.py)."""

from conftest import FAST, run_script, when_room
from data_files import CURVE, own_regression_env


def test_learning_curve_of_a_regression_sweep_plots_r2(tmp_path):
    env = own_regression_env(tmp_path)
    sweep_dir = tmp_path / "sweep"
    process = run_script("train.py", "experiment=learning_curve", *CURVE, "data.fraction=0.3,1.0",
                         "trainer.max_epochs=2", *when_room("ensembles", "ensemble.k=0"), *when_room("checks", "baselines=false"), "~callbacks.diagnostics",
                         f"hydra.sweep.dir={sweep_dir}", f"paths.log_dir={tmp_path}", *FAST, env=env, timeout=400)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "learning curve (fit/train_r2 / val/r2 by training examples) 126:" in process.stdout, process.stdout[-2000:]
    assert (sweep_dir / "learning_curve.png").stat().st_size > 10_000
