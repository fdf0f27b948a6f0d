"""The classic baselines (checks/baselines.py): fitted on the same split as the network, capped on large data,
written for the validation split too, and the advice that compares the network with them."""

import pytest
import torch

from conftest import FAST, read_metrics, when_room
from {{cookiecutter.package_name}}.checks.baselines import baseline_accuracies, baseline_regression_scores, likely_cause


@pytest.mark.fast
def test_baselines_on_large_data_use_a_capped_subset_and_say_so(capsys):
    x, y = torch.randn(60, 3), torch.arange(60) % 2
    x[:, 0] += 3 * y
    scores = baseline_accuracies(x, y, x, y, max_train=20)
    assert capsys.readouterr().out.count("the baselines used 20 of 60 training examples") == 1
    assert scores["baseline/logreg_acc"] > 0.8, scores
    baseline_regression_scores(x, x[:, 0], x, x[:, 0], max_train=30, of=90)  # of: the split before reading it
    assert capsys.readouterr().out.count("the baselines used 30 of 90 training examples") == 1
    baseline_accuracies(x, y, x, y, max_train=60)
    assert "baselines used" not in capsys.readouterr().out  # under the cap: silent


def test_likely_cause_reads_the_fit_diagnosis_and_r2s_own_floor():
    # a negative test floor (the mean's test R2 on small data) no longer makes train r2 0.21 "fit its training data"
    assert likely_cause(0.2092, 0.8, 1.0, -0.6, "r2").startswith("It learned little")
    assert likely_cause(0.2092, 0.8, 1.0, -0.6, "r2", fits=False).startswith("It learned little")
    assert likely_cause(0.95, 0.05, 1.0, -0.6, "r2", fits=True).startswith("Yet it fits")


@pytest.mark.fast
def test_a_run_writes_its_baselines_on_the_validation_split_too(train):
    _, run_dir = train("data.subset=300", "trainer.max_epochs=1", "model=tiny", *when_room("ensembles", "ensemble.k=0"), *FAST)
    metrics = read_metrics(run_dir)
    for name in ("majority", "logreg", "svc"):
        assert 0 < metrics[f"baseline/val/{name}_acc"] <= 1 and 0 < metrics[f"baseline/{name}_acc"] <= 1
