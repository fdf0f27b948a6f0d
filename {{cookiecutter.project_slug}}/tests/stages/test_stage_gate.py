"""The gate of a stage (stages/stage_gate.py): its verdict from a stage's metrics.json, its floor, and what
a gate that cannot be checked in this project says before any stage trains."""

import json

import pytest

from conftest import FAST, ROOMS, run_script
from {{cookiecutter.package_name}}.stages.ladder import worklog_target_line
from {{cookiecutter.package_name}}.stages.stage_gate import floor_of, judge, verdict


@pytest.mark.fast
def test_the_floor_baseline_gate_compares_on_the_split_of_its_metric():
    metrics = {"baseline/svc_acc": 0.99, "baseline/logreg_acc": 0.95, "baseline/val/svc_acc": 0.93,
               "baseline/val/logreg_acc": 0.97, "val/acc": 0.96}
    assert floor_of({"floor": "baseline"}, "val/acc", metrics, None) == 0.97
    assert floor_of({"floor": "baseline"}, "test/acc", metrics, None) == 0.99
    assert floor_of({"floor": "baseline"}, "val/r2", {"baseline/val/ridge_r2": 0.5, "baseline/ridge_r2": 0.7}, None) == 0.5
    # none in this stage: the previous stage's (same data, same split); none at all: not checked, said so
    previous = ({"n": 1}, {"baseline/val/svc_acc": 0.9}, True)
    assert floor_of({"floor": "baseline"}, "val/acc", {"val/acc": 0.5}, previous) == 0.9
    stage = {"gate": {"floor": "baseline"}, "metric": "val/acc"}
    passed, line, _ = judge(stage, {"val/acc": 0.5}, None, None)
    assert passed and line == "PASSED: floor not checked: no baseline in metrics.json (baselines=false)", line
    assert judge(stage, {"val/acc": 0.5}, previous, None)[:2] == (False, "FAILED: val/acc 0.5000 not > floor 0.9000")


@pytest.mark.fast
def test_a_stage_that_is_the_overfit_check_fails_with_the_check_whatever_its_gate():
    assert verdict({}, {"train/loss": 0.5, "overfit/passed": 0.0}, "val/acc", None, None)[0] is False
    assert verdict({}, {"train/loss": 0.02, "overfit/passed": 1.0}, "val/acc", None, None)[0] is True
    assert judge({"gate": {}, "metric": "val/acc"}, {}, None, "a non-finite loss")[:2] == (
        False, "FAILED: a non-finite loss")  # a stage that wrote no metrics.json fails its gate


def test_the_target_line_is_read_from_the_stage_worklog_line(tmp_path):
    """The ladder shows the workflow room's verdict on the target; a line it cannot read is no line."""
    run_dir = tmp_path / "ladder" / "02_full"
    result = {"metric": "test/acc", "value": 0.5, "reached": 0.75, "lower_is_better": False, "met": True}
    lines = ["not json", json.dumps({"kind": "run", "run": str(run_dir), "target": {"why": "chance"},
                                      "target_result": result}),
             json.dumps({"kind": "run", "run": str(tmp_path / "other"), "target_result": {"met": "?"}})]
    (tmp_path / "worklog.jsonl").write_text("\n".join(lines) + "\n")
    assert worklog_target_line(run_dir, tmp_path) == "target test/acc >= 0.5: MET (0.7500)  [chance]"
    assert worklog_target_line(tmp_path / "other", tmp_path) is None
    assert worklog_target_line(run_dir, tmp_path / "nowhere") is None


@pytest.mark.fast
@pytest.mark.skipif("checks" in ROOMS, reason="this project has the classic baselines (the checks room)")
def test_a_floor_baseline_without_the_baselines_fails_before_any_stage_trains(tmp_path):
    (tmp_path / "configs" / "stages").mkdir(parents=True)
    (tmp_path / "configs" / "stages" / "floor.yaml").write_text(
        "warm_start: false\ncontinue_on_fail: false\nladder:\n  - {name: full_data, overrides: [], gate: {floor: baseline}}\n")
    parent = tmp_path / "ladder"
    process = run_script("train.py", "stages=floor", f"hydra.run.dir={parent}", f"paths.log_dir={tmp_path}",
                         f"hydra.searchpath=[file://{tmp_path / 'configs'}]", *FAST)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    error = process.stderr.strip().splitlines()[-1]
    assert "Stage 1 'full_data'" in error and "gate.floor=baseline compares the network with the classic baselines" \
        in error and "give the floor as a number" in error, error
    assert "Traceback" not in process.stderr and not (parent / "01_full_data").exists()
