"""The test-set budget counts distinct configurations per test set (the test split's fingerprint, split.json):
another dataset or split is not worn by this one (issue 30 §5)."""

import json

from conftest import FAST, when_room


def test_the_test_set_budget_counts_configurations_per_test_set(train, tmp_path):
    quick = ["data.subset=200", "trainer.max_epochs=1", "model=tiny", *when_room("checks", "baselines=false"),
             *when_room("ensembles", "ensemble.k=0"), "test_set_budget=1", *FAST]
    first, _ = train(*quick, "data.split_seed=0", "optimizer.lr=1e-3")
    other_split, _ = train(*quick, "data.split_seed=1", "optimizer.lr=1e-2")  # another test set: its own count
    assert "test set has now scored" not in first.stderr + other_split.stderr, other_split.stderr[-2000:]
    second, run_dir = train(*quick, "data.split_seed=0", "optimizer.lr=1e-2")  # the first test set's 2nd configuration
    test_set = json.loads((run_dir / "split.json").read_text())["test"][:12]
    assert "the test set has now scored 2 distinct configurations (test_set_budget=1" in second.stderr, second.stderr
    assert f"for the test split {test_set}" in second.stderr
