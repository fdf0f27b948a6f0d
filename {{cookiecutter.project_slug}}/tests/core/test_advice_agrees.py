"""Advice that agrees with itself (issue 30 §5): one fit diagnosis, a small split said once, the stage
gate's floor on the split of its metric, the test-set budget per test set, loss_at_init on tabular data."""

import csv
import json

import torch

from conftest import FAST, read_metrics, run_script


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
                             "model=mlp_small", "trainer.max_epochs=5", "optimizer.lr=1e-2", "ensemble.k=0",
                             "~callbacks.diagnostics", *FAST)
    metrics = read_metrics(run_dir)
    assert metrics["fit/underfit"] == 1.0 and "UNDERFITTING" in process.stdout, process.stdout[-3000:]
    # the baselines' warning fires (noise: no better than the mean) and agrees: not "yet it fits its training data"
    assert "is no better than always predicting the mean" in process.stdout, process.stdout[-3000:]
    assert "Yet it fits" not in process.stdout and "It learned little even on its training data" in process.stdout
    # 60 examples: 6 for validation, 12 for test, said once with the overrides that give bigger ones
    assert process.stdout.count("note: the validation split 6 and the test split 12 examples") == 1, process.stdout
    assert "data.val_fraction=0.2 data.test_fraction=0.3 (of 60 examples)" in process.stdout


def test_likely_cause_reads_the_fit_diagnosis_and_r2s_own_floor():
    from {{cookiecutter.package_name}}.checks.baselines import likely_cause

    # a negative test floor (the mean's test R2 on small data) no longer makes train r2 0.21 "fit its training data"
    assert likely_cause(0.2092, 0.8, 1.0, -0.6, "r2").startswith("It learned little")
    assert likely_cause(0.2092, 0.8, 1.0, -0.6, "r2", fits=False).startswith("It learned little")
    assert likely_cause(0.95, 0.05, 1.0, -0.6, "r2", fits=True).startswith("Yet it fits")


def test_a_run_writes_its_baselines_on_the_validation_split_too(train):
    _, run_dir = train("data.subset=300", "trainer.max_epochs=1", "model=tiny", "ensemble.k=0", *FAST)
    metrics = read_metrics(run_dir)
    for name in ("majority", "logreg", "svc"):
        assert 0 < metrics[f"baseline/val/{name}_acc"] <= 1 and 0 < metrics[f"baseline/{name}_acc"] <= 1


def test_the_test_set_budget_counts_configurations_per_test_set(train, tmp_path):
    quick = ["data.subset=200", "trainer.max_epochs=1", "model=tiny", "baselines=false", "ensemble.k=0",
             "test_set_budget=1", *FAST]
    first, _ = train(*quick, "data.split_seed=0", "optimizer.lr=1e-3")
    other_split, _ = train(*quick, "data.split_seed=1", "optimizer.lr=1e-2")  # another test set: its own count
    assert "test set has now scored" not in first.stderr + other_split.stderr, other_split.stderr[-2000:]
    second, run_dir = train(*quick, "data.split_seed=0", "optimizer.lr=1e-2")  # the first test set's 2nd configuration
    test_set = json.loads((run_dir / "split.json").read_text())["test"][:12]
    assert "the test set has now scored 2 distinct configurations (test_set_budget=1" in second.stderr, second.stderr
    assert f"for the test split {test_set}" in second.stderr


def test_loss_at_init_passes_on_the_recommended_tabular_setup(tmp_path):
    from sklearn.datasets import load_breast_cancer  # bundled with scikit-learn: 569 rows, 30 features

    table = load_breast_cancer()
    path = tmp_path / "breast_cancer.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*(f"f{i}" for i in range(30)), "y"])
        writer.writerows([[*map(float, x), int(y)] for x, y in zip(table.data, table.target, strict=True)])
    run_dir = tmp_path / "check"
    process = run_script("check.py", f"hydra.run.dir={run_dir}", "experiment=tabular", "data=csv",
                         f"data.path={path}", "data.target=y")
    verdicts = {c["check"]: c for c in json.loads((run_dir / "checks.json").read_text())["checks"]}
    verdict = verdicts["loss_at_init"]
    assert verdict["status"] == "PASS", (verdict, process.stdout[-3000:])
    assert "outputs start too large" not in process.stdout
    assert abs(verdict["numbers"]["expected"] - 0.6931) < 1e-3  # ln 2: uniform outputs, whatever the class balance
