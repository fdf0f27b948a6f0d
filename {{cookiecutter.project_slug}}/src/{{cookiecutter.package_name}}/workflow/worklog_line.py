"""The worklog's door into runs and sweeps: a Hydra callback (configs/hydra/default.yaml, `worklog_line`).

A run that finishes writes its worklog line as its last step (run.finish -> worklog.run_ended), so the
target line comes before "run directory:". A run that fails, is stopped or pruned ends in
runs/failures.py, which writes how into status.json; Hydra calls `on_job_end` after every job, success
or failure, and the line is made from that status.json. A sweep's jobs write no line: when the sweep
ends, `on_multirun_end` reads each job's status.json and metrics.json (files, never memory: jobs may
run in other processes or machines) and appends ONE line with the best job.
Listed before the sweep summary: Hydra calls end callbacks in reverse order, so the sweep's line and
target come after the summary's table.
"""

import math
import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from ..core.logged_metrics import lower_is_better, written_metric
from ..runs.run_status import read_metrics, read_status
from .target import target_line, target_result
from .worklog import append_sweep_entry, run_not_finished, setup_hash, tested_as


class WorklogLine(Callback):
    def on_job_end(self, config, job_return, **kwargs) -> None:
        run_not_finished(config.hydra.runtime.output_dir)  # nothing to do when the run wrote its line

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            sweep_ended(sweep_dir, config)
        except OSError as error:  # the jobs' results stand; only the sweep's worklog line is missing
            print(f"warning: no worklog line for the sweep {sweep_dir}: {error}", file=sys.stderr)


def sweep_ended(sweep_dir: Path, config) -> None:
    """One worklog line for the sweep (its best job, how many failed) and the target read against the best."""
    jobs = sweep_jobs(sweep_dir)
    if not jobs:
        return
    failed = sum(job["status"] not in ("finished", "pruned") for job in jobs)
    best = best_job(jobs, str(config.get("optimized_metric") or "val/acc"))
    tested = [tested_as(job["run_dir"], setup_hash(OmegaConf.load(job["run_dir"] / ".hydra" / "config.yaml")))
              for job in jobs if any(key.startswith("test/") for key in job["metrics"])]  # the test-set counter
    append_sweep_entry(sweep_dir, best["metrics"] if best else {}, failed, jobs=len(jobs),
                       best_job=best and best["job"], config=config, tested_setups=tested)
    target = config.get("target")
    result = target_result(OmegaConf.to_container(target), best["metrics"]) if target and best else None
    if result:  # the methodology's target (train.yaml `target`), read against the best job
        print(f"best job {best['job']}: {target_line(result, target.get('why'))}")


def sweep_jobs(sweep_dir: Path) -> list[dict]:
    """Each job folder of the sweep (a folder with .hydra/): its name, status and metrics, in job order."""
    jobs = []
    for folder in sorted(Path(sweep_dir).iterdir(), key=lambda p: (len(p.name), p.name)):
        if (folder / ".hydra").is_dir():
            status = read_status(folder)
            jobs.append({"job": folder.name, "status": status.get("status", "not started"), "run_dir": folder,
                         "metrics": status.get("metrics") or read_metrics(folder)})
    return jobs


def best_job(jobs: list[dict], metric: str) -> dict | None:
    """The finished job with the best value of the optimized metric (as each run wrote it: val/r2 for val/acc on
    regression; train/loss for the overfitting check); else the first finished or pruned job with metrics."""
    def value(job) -> float:
        metrics = job["metrics"]
        key = "train/loss" if "overfit/passed" in metrics else written_metric(metric, metrics)
        number = metrics.get(key, math.nan)
        if job["status"] != "finished" or not isinstance(number, (int, float)) or not math.isfinite(number):
            return math.inf
        return number if lower_is_better(key) else -number

    done = [job for job in jobs if job["metrics"] and job["status"] in ("finished", "pruned")]
    return min(done, key=value) if done else None
