"""check.py as a command: its advice runs when pasted into bash (the learning rate the LR range test suggests,
as a train.py command on the same setup), it refuses what train.py refuses, and passes the recommended tabular setup."""

import csv
import json
import re

import pytest
import yaml

from conftest import FAST, run_script, when_room
from printed_commands import bash

# `=` and `,` (in the note and the list), a list value and an experiment; tiny and quick
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", *when_room("workflow", 'note="a=b, c"'), "data.subset=200",
         "trainer.max_epochs=1", "baselines=false", *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]


def printed_train_commands(process) -> list[str]:
    """The `python train.py ...` commands check.py prints at the end of a line (`train with it: ...`)."""
    return re.findall(r"^train with it: (python train\.py .+)$", process.stdout, re.MULTILINE)


@pytest.mark.fast
def test_the_learning_rate_advice_of_check_py_runs_as_printed(tmp_path):
    process = bash(" ".join(["python check.py", *(f"'{o}'" for o in SETUP), f"paths.log_dir={tmp_path}",
                             "'check.only=[lr_range_test]'"]))
    assert process.returncode == 0, process.stderr[-3000:]
    lr = re.search(r"suggested learning rate: optimizer.lr=(\S+)", process.stdout).group(1)
    [advice] = printed_train_commands(process)
    assert advice.endswith(f"optimizer.lr={lr}") and "check." not in advice, advice
    again = bash(advice)
    assert again.returncode == 0, again.stderr[-3000:]
    [run_dir] = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["optimizer"]["lr"] == float(lr) and config["model"]["blocks"] == [1, 1]
    assert json.loads((run_dir / "metrics.json").read_text())


def test_check_py_refuses_the_same_mistakes(tmp_path):
    for overrides, says in [("model=huge", "model=huge is not an option of the model group"),
                            ("+check.init_batch=4", "check.init_batch=4 is not a key of this config")]:
        process = run_script("check.py", f"paths.log_dir={tmp_path}", overrides)
        assert process.returncode == 2 and says in process.stderr, process.stderr[-3000:]
        assert "the nearest: check.init_batches" in process.stderr or "configs/model/" in process.stderr
        assert not list(tmp_path.glob("checks/*"))


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
