"""Search strategies (configs/sweep/, src/hydra_plugins/search_sweeper): real sweeps on tiny data,
and the jittered log-grid's border logic driven by a synthetic objective."""

import csv
import math
from pathlib import Path

import pytest
from hydra.errors import HydraException

from conftest import FAST, read_metrics, run_script, when_room
from hydra_plugins.search_sweeper.log_grid import JitteredLogGrid
from hydra_plugins.search_sweeper.search_sweeper import maximize, search_space

# a few seconds per job: a small subset, one or two epochs, nothing that is not needed
QUICK = ["model=tiny", "data.subset=200", "trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "~callbacks.diagnostics", "~callbacks.worst_mistakes"), *FAST]


def sweep(tmp_path: Path, name: str, *overrides: str, expect_ok: bool = True):
    """python train.py -m <overrides> into tmp_path/<name>; returns (process, trials.csv rows)."""
    sweep_dir = tmp_path / name
    process = run_script("train.py", "-m", f"hydra.sweep.dir={sweep_dir}", f"paths.log_dir={tmp_path}", *overrides)
    if expect_ok:
        assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    trials = sweep_dir / "trials.csv"
    rows = list(csv.DictReader(trials.open())) if trials.exists() else []
    return process, rows


def run_log_grid(grid: JitteredLogGrid, objective, maximize: bool = True) -> dict[float, float | None]:
    """What the sweeper does with the grid, with `objective(lr)` in place of training jobs."""
    results = {}
    points = grid.first_points()
    while points:
        results |= {point: objective(point) for point in points}
        points = grid.next_points(results, maximize)
    return results


def peaked_at(best_lr: float):
    """A synthetic objective: highest at best_lr, falling with the log-distance from it."""
    return lambda lr: -abs(math.log10(lr) - math.log10(best_lr))


@pytest.mark.fast
@pytest.mark.parametrize("best_lr", [3.0, 3e-7])  # beyond the upper border (0.1), beyond the lower (1e-4)
def test_log_grid_extends_beyond_the_border_when_the_best_point_is_on_it(best_lr):
    grid = JitteredLogGrid(low=1e-4, high=1e-1, seed=0)
    results = run_log_grid(grid, peaked_at(best_lr))
    assert grid.extensions >= 1
    beyond = [lr for lr in results if lr > 0.1 * 10**0.1 or lr < 1e-4 / 10**0.1]
    assert beyond and all((lr > 0.1) == (best_lr > 0.1) for lr in beyond)  # only on the side of the optimum
    found = max(results, key=results.get)
    assert abs(math.log10(found) - math.log10(best_lr)) < 0.35  # refined to within ~2x of the optimum


def test_log_grid_does_not_extend_when_the_best_point_is_inside():
    grid = JitteredLogGrid(low=1e-4, high=1e-1, seed=0)
    results = run_log_grid(grid, peaked_at(3e-3))
    assert grid.extensions == 0
    assert len(results) == 4 + 2  # the grid, then best/3 and best*3
    assert all(1e-4 / 10**0.1 <= lr <= 0.1 * 10**0.1 for lr in results)
    first = JitteredLogGrid(low=1e-4, high=1e-1, seed=0).first_points()
    assert all(1e-4 / 10**0.1 <= lr <= 0.1 * 10**0.1 for lr in first)
    assert len(set(first) & {1e-4, 1e-3, 1e-2, 1e-1}) == 0  # jittered, not the round values
    assert first == JitteredLogGrid(low=1e-4, high=1e-1, seed=0).first_points()  # seeded


def test_log_grid_stops_extending_when_the_point_beyond_fails():
    # better and better towards larger lr, but above 0.5 training diverges (the trial fails: None)
    results = run_log_grid(JitteredLogGrid(low=1e-4, high=1e-1, refine=None, seed=0),
                           lambda lr: None if lr > 0.5 else math.log10(lr))
    assert len(results) == 5  # one point beyond the border, it failed: the best is inside again
    assert sum(value is None for value in results.values()) == 1


@pytest.mark.fast
def test_search_space_takes_hydra_sweep_syntax_and_log_uniform_draws_stay_in_bounds():
    import optuna

    space, fixed = search_space(["optimizer.lr=tag(log, interval(1e-4, 1e-1))", "regularization.dropout=interval(0, 0.5)",
                                 "model.width=int(interval(8, 64))", "model=choice(tiny,small)", "trainer.max_epochs=3"])
    assert space["optimizer.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)
    assert space["regularization.dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5)
    assert space["model.width"] == optuna.distributions.IntDistribution(8, 64)
    assert space["model"] == optuna.distributions.CategoricalDistribution(["tiny", "small"])
    assert fixed == ["trainer.max_epochs=3"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = [study.ask({"lr": space["optimizer.lr"]}).params["lr"] for _ in range(400)]
    assert all(1e-4 <= lr <= 1e-1 for lr in draws)
    below_middle = sum(lr < math.sqrt(1e-4 * 1e-1) for lr in draws) / len(draws)
    assert 0.4 < below_middle < 0.6  # log-uniform: half below the geometric middle (uniform: 3%)


def test_direction_follows_the_optimized_metric():
    # one rule for every direction in the project (logged_metrics.lower_is_better): errors lower, scores higher
    assert maximize(None, "val/acc") and maximize(None, "val/r2") and maximize(None, "val/f1")
    assert not maximize(None, "val/loss") and not maximize("minimize", "val/acc")
    assert not maximize(None, "val/rmse") and not maximize(None, "val/mae") and not maximize(None, "ensemble/soft/nll")
    with pytest.raises(HydraException, match="hydra.sweeper.direction"):
        maximize("up", "val/acc")


@pytest.mark.fast
def test_a_random_search_runs_its_trials_and_its_summary_ranks_them(tmp_path):
    process, rows = sweep(tmp_path, "random", "sweep=random", "hydra.sweeper.params=null", "data.subset=100",
                          "optimizer.lr=tag(log, interval(1e-3, 1e-1))", "hydra.sweeper.n_trials=2", *QUICK)
    assert [row["state"] for row in rows] == ["COMPLETE"] * 2, process.stdout[-3000:]
    with open(tmp_path / "random" / "summary.csv") as file:
        summary = list(csv.DictReader(file))
    values = [float(row["val/acc"]) for row in summary]
    assert values == sorted(values, reverse=True) and sorted(values) == sorted(float(row["value"]) for row in rows)
    assert all(row["status"] == "finished" and row["optimizer.lr"] for row in summary)
    assert "reproduce the best: python train.py" in process.stdout


def test_random_sweeper_with_a_fixed_seed_proposes_the_same_points_twice(tmp_path):
    space = ["hydra.sweeper.params=null", "optimizer.lr=tag(log, interval(1e-4, 1e-1))",
             "regularization.weight_decay=tag(log, interval(1e-6, 1e-2))", "hydra.sweeper.n_trials=2"]
    _, first = sweep(tmp_path, "first", "sweep=random", *space, *QUICK)
    _, second = sweep(tmp_path, "second", "sweep=random", *space, *QUICK)
    assert len(first) == 2 and all(row["state"] == "COMPLETE" for row in first + second)
    points = [(row["optimizer.lr"], row["regularization.weight_decay"]) for row in first]
    assert points == [(row["optimizer.lr"], row["regularization.weight_decay"]) for row in second]
    assert len(set(points)) == 2
    for row in first:
        assert 1e-4 <= float(row["optimizer.lr"]) <= 1e-1 and 1e-6 <= float(row["regularization.weight_decay"]) <= 1e-2
        overrides = (Path(row["run_dir"]) / ".hydra" / "overrides.yaml").read_text()
        assert f"optimizer.lr={row['optimizer.lr']}" in overrides  # the job ran the proposed value
        assert read_metrics(Path(row["run_dir"]))["val/acc"] == pytest.approx(float(row["value"]))


def test_optuna_tpe_runs_4_trials(tmp_path):
    import optuna

    process, rows = sweep(tmp_path, "tpe", "sweep=optuna", "hydra.sweeper.n_trials=4",
                          "hydra.sweeper.sampler.n_startup_trials=2", *QUICK)
    assert [row["state"] for row in rows] == ["COMPLETE"] * 4, process.stdout[-3000:]
    assert all((Path(row["run_dir"]) / "metrics.json").exists() for row in rows)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "tpe" / "optuna.journal")))
    study = optuna.load_study(study_name="sweep", storage=storage)
    assert len(study.trials) == 4 and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert len({trial.params["optimizer.lr"] for trial in study.trials}) == 4
    best = next(line for line in process.stdout.splitlines() if line.startswith("reproduce the best:"))
    assert "optuna_trial" not in best and "sweep=" not in best, best  # a single run, reporting to no study


def test_a_sweep_of_overfit_checks_minimizes_the_train_loss_they_return(tmp_path):
    """data=tiny (overfit=true): every job returns train/loss, so the study minimizes it, whatever optimized_metric."""
    process, rows = sweep(tmp_path, "overfit", "sweep=random", "hydra.sweeper.n_trials=2", "data=tiny", *FAST)
    assert [row["state"] for row in rows] == ["COMPLETE"] * 2, process.stdout[-3000:]
    assert "sweep: minimize train/loss" in process.stdout and "COMPLETE: train/loss=" in process.stdout


def test_a_pruned_trial_is_recorded_as_pruned_and_the_sweep_goes_on(tmp_path):
    import optuna

    # a pruner that prunes every trial at its first validation: val/acc is never above 2
    always = ["~callbacks.optuna_pruning.pruner",
              "+callbacks.optuna_pruning.pruner={_target_:optuna.pruners.ThresholdPruner,lower:2.0}"]
    process, rows = sweep(tmp_path, "pruned", "sweep=optuna", "hydra.sweeper.n_trials=2", *always, *QUICK,
                          "trainer.max_epochs=4")
    assert [row["state"] for row in rows] == ["PRUNED", "PRUNED"], process.stdout[-3000:]
    assert process.stdout.count("judged it not promising") == 2
    assert "training stopped by a callback at epoch 1" in process.stdout  # not all 4 epochs
    assert all((Path(row["run_dir"]) / "metrics.json").exists() for row in rows)  # a pruned run is complete
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tmp_path / "pruned" / "optuna.journal")))
    states = [trial.state for trial in optuna.load_study(study_name="sweep", storage=storage).trials]
    assert states == [optuna.trial.TrialState.PRUNED] * 2


def test_a_failed_trial_is_told_as_failed_and_the_sweep_goes_on(tmp_path):
    process, rows = sweep(tmp_path, "failed", "sweep=random", "hydra.sweeper.params=null", "optimizer.lr=choice(-1.0)",
                          "regularization.dropout=interval(0, 0.5)", "hydra.sweeper.n_trials=2", *QUICK,
                          expect_ok=False)
    assert [row["state"] for row in rows] == ["FAIL", "FAIL"]  # the second trial ran after the first failed
    assert process.stdout.count("optimizer.lr=-1.0 is not allowed") == 2
    assert process.returncode != 0


def test_log_grid_sweep_runs_a_point_beyond_the_border(tmp_path):
    # two grid points: the better one is always on a border, so a third point goes beyond it
    process, rows = sweep(tmp_path, "grid", "sweep=log_grid", "optimizer.lr=tag(log, interval(1e-3, 1e-2))",
                          "hydra.sweeper.log_grid.max_extensions=1", "hydra.sweeper.log_grid.refine=null", *QUICK)
    assert len(rows) == 3 and all(row["state"] == "COMPLETE" for row in rows), process.stdout[-3000:]
    lrs = [float(row["optimizer.lr"]) for row in rows]
    values = [float(row["value"]) for row in rows[:2]]
    best = lrs[values.index(max(values))]
    assert (lrs[2] > max(lrs[:2])) if best == max(lrs[:2]) else (lrs[2] < min(lrs[:2]))


def test_bad_search_spaces_fail_before_any_job(tmp_path):
    process, rows = sweep(tmp_path, "two", "sweep=log_grid", "regularization.weight_decay=tag(log, interval(1e-6, 1e-2))",
                          *QUICK, expect_ok=False)
    assert process.returncode != 0 and "searches ONE log-scaled parameter" in process.stderr
    process, rows = sweep(tmp_path, "typo", "sweep=random", *QUICK, "model=choice(tiny,smal)", expect_ok=False)
    assert process.returncode != 0 and "smal" in process.stderr
    assert not rows and not list((tmp_path / "typo").glob("*/metrics.json"))
