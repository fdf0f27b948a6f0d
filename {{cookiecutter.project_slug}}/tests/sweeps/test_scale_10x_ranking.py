"""experiment=scale_10x: the best jobs of a small sweep run again on ten times the data (the search sweeper's
scale_up; moved from tests/workflow/test_workflow.py: it is a sweep feature)."""

import re

import pytest
import yaml

from conftest import FAST, read_metrics, run_script, when_room


def test_scale_10x_reruns_the_best_jobs_of_a_sweep_at_ten_times_the_data_and_says_if_the_ranking_held(tmp_path):
    quick = ["model=tiny", "trainer.max_epochs=1", *when_room("checks", "baselines=false"),
             *when_room("ensembles", "ensemble.k=0"), *FAST]
    small = tmp_path / "small"
    process = run_script("train.py", "-m", "data.fraction=0.1", "optimizer.lr=1e-3,1e-2", *quick,
                         f"hydra.sweep.dir={small}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    large = tmp_path / "large"
    process = run_script("train.py", "-m", "experiment=scale_10x", f"hydra.sweeper.small={small}", "hydra.sweeper.top=2",
                         *quick, f"hydra.sweep.dir={large}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    for job in ("0", "1"):
        assert yaml.safe_load((large / job / ".hydra" / "config.yaml").read_text())["data"]["fraction"] == 1.0  # 0.1 x 10
    large_acc = {yaml.safe_load((large / job / ".hydra" / "config.yaml").read_text())["optimizer"]["lr"]:
                 read_metrics(large / job)["val/acc"] for job in ("0", "1")}
    table = (large / "scale_up.md").read_text()
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "optimizer.lr=" in line]
    assert len(rows) == 2, table
    for row in rows:  # | job | configuration | small | rank | large | rank |: the large value is that job's
        lr = float(re.search(r"optimizer.lr=([\d.e-]+)", row[1]).group(1))
        assert float(row[4]) == pytest.approx(large_acc[lr], abs=1e-4)
    best_large = max(rows, key=lambda row: float(row[4]))
    assert best_large[5].strip(" |") == "1" or float(rows[0][4]) == float(rows[1][4])
    held = [row[3] for row in rows] == [row[5].strip(" |") for row in rows]
    assert ("ranking held" in table) == held, table

    too_big = run_script("train.py", "-m", "experiment=scale_10x", f"hydra.sweeper.small={small}",
                         "hydra.sweeper.factor=20", *quick, f"hydra.sweep.dir={tmp_path / 'x'}")
    assert too_big.returncode != 0 and "more than the whole training set" in too_big.stderr + too_big.stdout
    assert not list((tmp_path / "x").glob("*/metrics.json"))  # nothing trained
