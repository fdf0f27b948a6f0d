"""Ladders of stages (stages/ladder.py): the table, a failing first gate, continuing, a killed stage, sweeps."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import FAST, ROOMS, ROOT, run_script, when_room
from {{cookiecutter.package_name}}.runs.checkpoints import ranked_checkpoints

# tiny settings: stages are full runs
QUICK = [*FAST, "model=tiny", "optimizer.lr=0.01", "trainer.max_epochs=2", *when_room("ensembles", "ensemble.k=0"),
         "overfit_check.max_steps=30", *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0")]
FLOOR = "baseline" if "checks" in ROOMS else 0.5  # the classic baselines come with the checks room
THREE = """
warm_start: false
continue_on_fail: true
ladder:
  - {name: overfit, overrides: [overfit=true], only_this_stage: true, gate: {train_loss_below: 0.01}}
  - {name: full_data, overrides: [], gate: {floor: FLOOR}}
  - {name: capacity, overrides: [], model_size_up: true, gate: {tolerance: 0.05}}
""".replace("FLOOR", str(FLOOR))

# stage 1 trains at the command's learning rate; stage 2 keeps the shapes and barely moves
# (lr 1e-9), so its weights are stage 1's best only if it was warm-started; stage 3 is bigger
WARM = """
warm_start: true
continue_on_fail: false
ladder:
  - {name: first, overrides: [], only_this_stage: true, gate: {}}
  - {name: same_shapes, overrides: [optimizer.lr=1e-9], gate: {}}
  - {name: bigger, overrides: [], model_size_up: true, gate: {}}
"""
# val/acc cannot exceed 1.5: the gate fails at every validation
HOPELESS = """
warm_start: false
continue_on_fail: false
ladder:
  - {name: full_data, overrides: [], gate: {floor: 1.5, stop_when_missed: 2}}
"""


@pytest.fixture
def ladders(tmp_path):
    """Overrides that put the test's own ladders (configs/stages/three.yaml, ...) on Hydra's search path."""
    (tmp_path / "configs" / "stages").mkdir(parents=True)
    (tmp_path / "configs" / "stages" / "three.yaml").write_text(THREE)
    stopping = THREE.replace("continue_on_fail: true", "continue_on_fail: false")
    (tmp_path / "configs" / "stages" / "three_stop.yaml").write_text(stopping)
    one = "warm_start: false\ncontinue_on_fail: false\nladder:\n  - {name: overfit, overrides: [overfit=true], gate: {train_loss_below: 9.0}}\n"
    (tmp_path / "configs" / "stages" / "one.yaml").write_text(one)
    (tmp_path / "configs" / "stages" / "warm.yaml").write_text(WARM)
    (tmp_path / "configs" / "stages" / "hopeless.yaml").write_text(HOPELESS)
    return [f"hydra.searchpath=[file://{tmp_path / 'configs'}]"]


def rows(parent):
    return json.loads((parent / "stages.json").read_text())["stages"]


def test_a_ladder_writes_its_table_and_continuing_a_finished_one_trains_nothing(tmp_path, ladders):
    parent = tmp_path / "ladder"
    target = when_room("workflow", "target={metric: test/acc, value: 0.5, why: better than chance}")
    process = run_script("train.py", "stages=three", f"hydra.run.dir={parent}", "data.subset=200", *ladders, *QUICK,
                         *target, f"paths.log_dir={tmp_path}")
    table = rows(parent)
    assert [row["name"] for row in table] == ["overfit", "full_data", "capacity"], process.stderr[-3000:]
    assert all(row["status"] in ("PASSED", "FAILED") for row in table), table
    assert table[2]["changed"] == "model=small"  # tiny -> small
    full = json.loads((parent / "02_full_data" / "metrics.json").read_text())
    # the gate compares val/acc with the baselines on the same (validation) split
    best_baseline = max((v for k, v in full.items() if k.startswith("baseline/val/") and k.endswith("_acc")),
                        default=FLOOR)  # without the checks room: the number
    assert (table[1]["status"] == "PASSED") == (full["val/acc"] > best_baseline), (table[1], best_baseline)
    assert table[2]["delta"] == pytest.approx(table[2]["metrics"]["val/acc"] - table[1]["metrics"]["val/acc"])
    any_failed = any(row["status"] == "FAILED" for row in table)
    assert process.returncode == (1 if any_failed else 0), process.stderr[-3000:]
    markdown = (parent / "stages.md").read_text()
    assert sum(line.startswith("| ") for line in markdown.splitlines()) == 1 + 3  # the header and three stages
    test_acc = json.loads((parent / "03_capacity" / "metrics.json").read_text())["test/acc"]
    line = f"stage 3 capacity: target test/acc >= 0.5: {'MET' if test_acc >= 0.5 else 'NOT MET'} ({test_acc:.4f}"
    assert (line in markdown) == bool(target), markdown  # the target (workflow room), against the last stage trained
    assert list(parent.glob("events.out.tfevents.*")), "no TensorBoard text"

    written = {p: p.stat().st_mtime_ns for p in parent.rglob("*") if p.is_file() and p.parent.name != parent.name}
    again = run_script("train.py", f"resume={parent}", f"paths.log_dir={tmp_path}", *ladders, *FAST)
    assert again.returncode == process.returncode, again.stderr[-3000:]
    assert again.stdout.count("finished before, not trained again") == 3, again.stdout[-3000:]
    assert {p: p.stat().st_mtime_ns for p in written} == written  # no stage folder touched
    assert [row["status"] for row in rows(parent)] == [row["status"] for row in table]


@pytest.mark.fast  # the main path: plan, a trained stage, its gate, the table, the advice
def test_a_first_gate_that_cannot_pass_stops_the_ladder_and_says_why(tmp_path, ladders):
    parent = tmp_path / "ladder"
    process = run_script("train.py", "stages=three_stop", f"hydra.run.dir={parent}", "data.subset=200",
                         *ladders, *QUICK, "optimizer.lr=1e-9")
    assert process.returncode == 1, process.stderr[-3000:]
    error = process.stderr.strip().splitlines()[-1]
    assert "ladder stage 1 'overfit' (overfit=true) FAILED its gate" in error, error
    assert "learning does not work even in the simplest setup" in error and "learning rate" in error, error
    assert [row["status"] for row in rows(parent)] == ["FAILED", "not run", "not run"]
    assert not (parent / "02_full_data").exists()


def test_a_ladder_killed_in_stage_2_continues_there(tmp_path, ladders):
    parent, log = tmp_path / "ladder", tmp_path / "log"
    overrides = ["stages=three", f"hydra.run.dir={parent}", *ladders, *QUICK, "trainer.max_epochs=5",
                 "trainer.deterministic=true"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *overrides], env=env, stdout=out, stderr=out)
    first = parent / "02_full_data" / "checkpoints" / "epoch000.ckpt"
    while not first.exists():
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.02)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    saved = torch.load(parent / "02_full_data" / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] < 4, "killed too late to test anything"
    stage_1 = (parent / "01_overfit" / "metrics.json").stat().st_mtime_ns

    again = run_script("train.py", f"resume={parent}", f"paths.log_dir={tmp_path}", *ladders, *FAST)
    assert "stage 1 overfit: finished before, not trained again" in again.stdout, again.stdout[-3000:]
    assert f"resuming {parent / '02_full_data'} from epoch" in again.stdout, again.stdout[-3000:]
    assert (parent / "01_overfit" / "metrics.json").stat().st_mtime_ns == stage_1
    assert (parent / "03_capacity" / "metrics.json").is_file(), again.stdout[-2000:] + again.stderr[-3000:]
    assert all(row["status"] in ("PASSED", "FAILED") for row in rows(parent)), again.stderr[-3000:]


def test_a_sweep_of_ladders_gives_one_ladder_folder_per_job(tmp_path, ladders):
    sweep = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=0,1", "stages=one", f"hydra.sweep.dir={sweep}",
                         "data.subset=100", *ladders, *QUICK)
    assert process.returncode == 0, process.stderr[-3000:]
    for job in ("0", "1"):
        table = rows(sweep / job)
        assert [row["status"] for row in table] == ["PASSED"], table
        assert (sweep / job / "01_overfit" / "metrics.json").is_file()


def test_warm_start_loads_the_previous_stage_best_weights_and_names_the_layers_it_could_not(tmp_path, ladders):
    parent = tmp_path / "ladder"
    process = run_script("train.py", "stages=warm", f"hydra.run.dir={parent}", "data.subset=200", *ladders, *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    lines = [line for line in process.stdout.splitlines() if line.startswith("warm start from ")]
    assert len(lines) == 2, process.stdout[-3000:]  # stages 2 and 3; stage 1 has nothing to start from
    first_best = ranked_checkpoints(parent / "01_first", 1)[0]
    assert lines[0].startswith(f"warm start from {first_best}: ")
    loaded, total = lines[0].split(": ")[1].split(" tensors")[0].split(" of ")
    assert loaded == total and "not loaded" not in lines[0], lines[0]  # same shapes: everything
    assert "not loaded (other shape or new): " in lines[1], lines[1]  # tiny -> small

    def weights(run_dir):
        state = torch.load(ranked_checkpoints(run_dir, 1)[0], weights_only=False)["state_dict"]
        return {name: tensor for name, tensor in state.items() if "running_" not in name and "num_batches" not in name}

    first, second = weights(parent / "01_first"), weights(parent / "02_same_shapes")
    assert first.keys() == second.keys()
    for name in first:  # from scratch, stage 2 would hold a fresh initialization instead
        assert torch.allclose(first[name], second[name], atol=1e-5), name


def test_a_gate_missed_with_no_new_best_ends_its_stage_early(tmp_path, ladders):
    parent = tmp_path / "ladder"
    process = run_script("train.py", "stages=hopeless", f"hydra.run.dir={parent}", "data.subset=200", *ladders,
                         *QUICK, "trainer.max_epochs=20", "optimizer.lr=1e-9",  # val/acc stays where it starts
                         "callbacks.model_checkpoint.monitor=val/acc", "callbacks.model_checkpoint.mode=max")
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
    assert "gate missed at epoch 2: val/acc" in process.stdout, process.stdout[-3000:]
    assert "no new best checkpoint in 2 validations: stage ended" in process.stdout
    last = torch.load(parent / "01_full_data" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 2  # of 20
    assert [row["status"] for row in rows(parent)] == ["FAILED"]
    assert "FAILED its gate" in process.stderr.strip().splitlines()[-1]


BAD_LADDER_VALUES = [
    pytest.param("stages.warm_start=maybe", "stages.warm_start='maybe' is not allowed: use true or false",
                 marks=pytest.mark.fast),
    ("stages.ladder.0.gate=5", "stages.ladder.0.gate=5 is not allowed: a mapping of conditions"),
    ("+stages.ladder.0.gate.patience=3", "unknown keys ['gate.patience']"),
    ("stages.ladder.2.gate.tolerance=-1", "stages.ladder.2.gate.tolerance=-1 is not allowed: a number >= 0"),
    ("+stages.ladder.1.gate.stop_when_met=yes", "stages.ladder.1.gate.stop_when_met='yes' is not allowed: true or false"),
    ("+stages.ladder.1.gate.stop_when_missed=0", "stop_when_missed=0 is not allowed: null (do not end the stage early)"),
    ("+stages.ladder.1.gate.stop_when_missed=2.5", "stop_when_missed=2.5 is not allowed"),
]


@pytest.mark.parametrize("override, says", BAD_LADDER_VALUES, ids=[b.values[0] if hasattr(b, "values") else b[0]
                                                                   for b in BAD_LADDER_VALUES])
def test_a_bad_ladder_value_fails_before_any_stage_trains(tmp_path, override, says):
    parent = tmp_path / "ladder"
    process = run_script("train.py", "stages=ladder", override, f"hydra.run.dir={parent}", *FAST)
    assert process.returncode == 2, process.stderr[-3000:]
    error = process.stderr.strip().splitlines()[-1]
    assert error.startswith("error: Invalid ladder (stages): ") and says in error and "Nothing was trained" in error, error
    assert "Traceback" not in process.stderr
    assert not (parent / "stages.json").exists() and not list(parent.glob("0*"))
