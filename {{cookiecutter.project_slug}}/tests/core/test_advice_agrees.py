"""Advice that agrees with itself (issue 30 §5): one fit diagnosis, a small split said once, the stage
gate's floor on the split of its metric (the checks' parts: tests/checks/test_baseline_advice.py; the test-set
budget per test set is tested with the worklog that counts it)."""

import csv

import torch

from conftest import FAST, read_metrics, when_room  # noqa: F401 (read_metrics: in the diagnostics lines)


def write_table(path, rows: int, seed: int = 0):
    """A table of 6 features and a target of pure noise: nothing to learn."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 6, generator=generator)
    y = [float(v) for v in torch.randn(rows, generator=generator)]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*(f"f{i}" for i in range(6)), "y"])
        writer.writerows([[*map(float, features), target] for features, target in zip(x, y, strict=True)])
    return path


def test_regression_on_small_data_gives_one_diagnosis_and_says_its_split_is_small(train, tmp_path):
    table = write_table(tmp_path / "noise.csv", rows=60)
    process, run_dir = train("data=csv", f"data.path={table}", "data.target=y", "data.task=regression",
                             "model=mlp_small", "trainer.max_epochs=5", "optimizer.lr=1e-2", *when_room("ensembles", "ensemble.k=0"),
                             *when_room("diagnostics", "~callbacks.diagnostics"), *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert read_metrics(run_dir)["fit/underfit"] == 1.0 and "UNDERFITTING" in process.stdout, process.stdout[-3000:]
{%- if cookiecutter.__with_checks == "yes" %}
    # the baselines' warning fires (noise: no better than the mean) and agrees: not "yet it fits its training data"
    assert "is no better than always predicting the mean" in process.stdout, process.stdout[-3000:]
    assert "Yet it fits" not in process.stdout and "It learned little even on its training data" in process.stdout
{%- endif %}
{%- endif %}
    # 60 examples: 6 for validation, 12 for test, said once with the overrides that give bigger ones
    assert process.stdout.count("note: the validation split 6 and the test split 12 examples") == 1, process.stdout
    assert "data.val_fraction=0.2 data.test_fraction=0.3 (of 60 examples)" in process.stdout
