"""Ensembles on regression: eval.py on a run folder and on its best checkpoint prints the rows train.py wrote
(single, mean, weight_average; RMSE and R2), from a user's own CSV table (data=csv data.task=regression)."""

import torch

from conftest import FAST, read_metrics, run_script


def test_eval_on_a_regression_run_and_checkpoint(tmp_path):
    """eval.py rebuilds a run's data from its config, so the data must be the project's own (runs/allowlist.py):
    the same kind of table as a CSV file, data=csv data.task=regression."""
    from {{cookiecutter.package_name}}.runs.checkpoints import ranked_checkpoints

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 12, generator=generator)
    y = x @ torch.linspace(-1, 1, 12) + torch.sin(2 * x[:, 0])
    rows = [",".join(f"x{i}" for i in range(12)) + ",y"]
    rows += [",".join(f"{float(v):.6f}" for v in [*features, target]) for features, target in zip(x, y, strict=True)]
    (tmp_path / "curve.csv").write_text("\n".join(rows) + "\n")
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "data=csv", f"data.path={tmp_path / 'curve.csv'}",
                         "data.target=y", "data.task=regression", "model=mlp_small", "trainer.max_epochs=4", *FAST,
                         timeout=400)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    process = run_script("eval.py", str(run_dir))
    assert process.returncode == 0, process.stderr[-3000:]
    assert "rmse" in process.stdout and "r2" in process.stdout
    for row in ("single", "mean", "weight_average"):
        assert f"{row:16s} {metrics[f'ensemble/{row}/rmse']:8.4f} {metrics[f'ensemble/{row}/r2']:8.4f}" in process.stdout
    [best] = ranked_checkpoints(run_dir, 1)  # the checkpoint of the "single" row
    process = run_script("eval.py", str(best))
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"{'single':16s} {metrics['ensemble/single/rmse']:8.4f}" in process.stdout, process.stdout
    assert "weight_average" not in process.stdout
