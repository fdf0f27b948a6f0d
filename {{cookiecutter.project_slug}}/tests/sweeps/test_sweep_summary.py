"""Sweeps survive their jobs, and end with a summary: status.json per job, summary.csv/md, plots,
TensorBoard HParams, seeds grouped, and eval.py's cross-run ensembles per configuration."""

import csv
import json
import statistics

import pytest

from conftest import FAST, ROOMS, read_metrics, run_script, when_room

QUICK = [*FAST, *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), *when_room("diagnostics", "~callbacks.diagnostics")]


def sweep(tmp_path, *overrides):
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", *overrides, f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}",
                         *QUICK)
    return process, folder


def summary_rows(folder) -> list[dict]:
    with open(folder / "summary.csv") as file:
        return list(csv.DictReader(file))


def test_the_four_job_sweep_runs_every_job_and_the_summary_marks_the_failed_one(tmp_path):
    # tiny model at lr 1e-3 does not memorize 64 examples in 300 steps: its overfit check FAILS (exit 1 alone)
    process, folder = sweep(tmp_path, "optimizer.lr=1e-3,1e-2", "model=tiny,small", "data=tiny")
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-2000:]  # a job failed
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    rows = summary_rows(folder)
    assert sorted(row["job"] for row in rows) == ["0", "1", "2", "3"]  # every job ran
    by_job = {row["job"]: row for row in rows}
    assert by_job["0"]["status"] == "failed" and by_job["0"]["error"].startswith("overfit check: FAILED")
    assert by_job["0"]["model"] == "tiny" and by_job["0"]["optimizer.lr"] == "0.001"
    assert all(by_job[job]["status"] == "finished" for job in "123")
    assert rows[-1]["job"] == "0"  # failures last
    # the overfitting check optimizes the train loss: lower first
    losses = [float(row["train/loss"]) for row in rows[:3]]
    assert losses == sorted(losses) and all(loss < 0.01 * 2.6 for loss in losses)  # 1% of the loss at init
    assert json.loads((folder / "0" / "status.json").read_text())["status"] == "failed"
    markdown = (folder / "summary.md").read_text()
    assert "| 0 | failed: overfit check: FAILED" in markdown and "4 jobs, 3 finished" in markdown
    best = rows[0]
    assert f"reproduce the best: python train.py optimizer.lr={best['optimizer.lr']} model={best['model']}" \
        in process.stdout, process.stdout[-3000:]
    assert "FAILED  job 0: optimizer.lr=0.001 model=tiny: overfit check: FAILED" in process.stdout


def test_a_grid_of_four_writes_the_summary_sorted_with_plots_and_hparams(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    process, folder = sweep(tmp_path, "optimizer.lr=1e-4,1e-3,3e-3,3e-2", "trainer.max_epochs=1")
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    rows = summary_rows(folder)
    assert len(rows) == 4 and all(row["status"] == "finished" for row in rows)
    # sorted by optimized_metric (val/acc: higher first); the values are each job's own metrics.json
    values = [read_metrics(folder / row["job"])["val/acc"] for row in rows]
    assert values == sorted(values, reverse=True), values
    assert [float(row["val/acc"]) for row in rows] == values
    assert {row["optimizer.lr"] for row in rows} == {"0.0001", "0.001", "0.003", "0.03"}
    assert "Sorted by `val/acc` (higher is better)" in (folder / "summary.md").read_text()
    assert (folder / "summary_optimizer.lr.png").stat().st_size > 1000
    assert not (folder / "summary_by_config.csv").exists()  # no repeated seeds
    hparams = EventAccumulator(str(folder / rows[0]["job"] / "hparams")).Reload()
    assert "final/val/acc" in hparams.Tags()["scalars"]
    assert hparams.Scalars("final/val/acc")[0].value == pytest.approx(values[0])
    assert f"{values[0]:.4f}  job {rows[0]['job']}: optimizer.lr=" in process.stdout


def test_a_job_failing_validation_is_failed_in_the_summary_and_the_jobs_after_it_complete(tmp_path):
    # joblib: the jobs run in other processes; the summary and the exit code come from their files
    process, folder = sweep(tmp_path, "optimizer.lr=1e-3,-1,3e-3", "trainer.max_epochs=1",
                            "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-2000:]
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    by_job = {row["job"]: row for row in summary_rows(folder)}
    assert by_job["1"]["status"] == "failed"
    assert "optimizer.lr=-1 is not allowed" in by_job["1"]["error"] and by_job["1"]["val/acc"] == ""
    for job in ("0", "2"):  # complete rows: status, override, metrics, run dir
        assert by_job[job]["status"] == "finished" and by_job[job]["error"] == ""
        assert float(by_job[job]["val/acc"]) == read_metrics(folder / job)["val/acc"]
        assert float(by_job[job]["test/acc"]) == read_metrics(folder / job)["test/acc"]
        assert by_job[job]["run_dir"] == str(folder / job)
    assert (folder / "1" / "status.json").exists()  # the failed job keeps its folder in a sweep


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    """2 learning rates x 2 seeds, one epoch each: (process, multirun folder)."""
    tmp_path = tmp_path_factory.mktemp("seeds")
    process, folder = sweep(tmp_path, "optimizer.lr=1e-3,3e-3", "seed=0,1", "trainer.max_epochs=1")
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    return process, folder


def test_repeated_seeds_are_grouped_with_mean_and_std(seeds):
    _, folder = seeds
    with open(folder / "summary_by_config.csv") as file:
        groups = list(csv.DictReader(file))
    assert len(groups) == 2 and all(group["n"] == "2" for group in groups)
    for group in groups:
        jobs = group["jobs"].split()
        accs = [read_metrics(folder / job)["val/acc"] for job in jobs]
        assert {json.loads((folder / job / "status.json").read_text())["overrides"][0] for job in jobs} \
            == {f"optimizer.lr={group['optimizer.lr']}"}  # one configuration, two seeds
        assert float(group["val/acc mean"]) == pytest.approx(statistics.fmean(accs))
        assert float(group["val/acc std"]) == pytest.approx(statistics.stdev(accs))
    markdown = (folder / "summary.md").read_text()
    assert "mean ± std over seeds" in markdown
    mean, std = float(groups[0]["val/acc mean"]), float(groups[0]["val/acc std"])
    assert f"| optimizer.lr={groups[0]['optimizer.lr']} | 2 | {mean:.4f} ± {std:.4f} |" in markdown


@pytest.mark.skipif("ensembles" not in ROOMS, reason="eval.py is the ensembles room's command")
def test_eval_ensembles_only_jobs_that_differ_by_seed_and_names_the_best(seeds):
    _, folder = seeds
    process = run_script("eval.py", str(folder))
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.count("best checkpoints of 2 runs") == 2, process.stdout  # one ensemble per lr
    for lr in ("0.001", "0.003"):
        assert f"shared: optimizer.lr={lr}" in process.stdout, process.stdout
    assert process.stdout.count("single_best_run: job ") == 2
    assert "(optimizer.lr=0.001 seed=" in process.stdout or "(seed=" in process.stdout
    everything = run_script("eval.py", str(folder), "--across", "seed,optimizer.lr")
    assert everything.returncode == 0 and "best checkpoints of 4 runs" in everything.stdout, everything.stdout
    alone = run_script("eval.py", str(folder), "--across", "data.fraction")  # every job is alone: scored alone
    assert alone.returncode == 0 and "Traceback" not in alone.stderr, alone.stderr[-3000:]
    assert "no cross-run ensemble for job" in alone.stdout and alone.stdout.count("test set, top-") == 4


def test_a_single_run_keeps_its_status_in_its_folder(train):
    process, run_dir = train("model=small", "data=tiny", *FAST)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["error"] is None
    assert status["metrics"] == read_metrics(run_dir) and "data=tiny" in status["overrides"]
    assert not (run_dir.parent / "sweep").exists() and "sweep:" not in process.stdout


def test_a_regression_sweep_is_ranked_by_r2_highest_first(tmp_path):
    import torch

    generator = torch.Generator().manual_seed(0)  # y = a linear function of 4 features plus noise
    x = torch.randn(240, 4, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.3 * torch.randn(240, generator=generator)
    with open(tmp_path / "table.csv", "w", newline="") as file:
        csv.writer(file).writerows([["a", "b", "c", "d", "y"], *([*map(float, r), float(t)] for r, t in zip(x, y, strict=True))])
    process, folder = sweep(tmp_path, "data=csv", f"data.path={tmp_path / 'table.csv'}", "data.target=y",
                            "data.task=regression", "model=mlp_small", "optimizer.lr=1e-4,1e-2", "trainer.max_epochs=3")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    scores = [float(row["val/r2"]) for row in summary_rows(folder)]  # the default optimized_metric val/acc: val/r2
    assert len(scores) == 2 and scores[0] > scores[1], scores
    assert "Sorted by `val/r2` (higher is better)" in (folder / "summary.md").read_text()
