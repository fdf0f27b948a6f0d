"""The summary of a sweep: every job in one table, best first, and what failed and why.

A Hydra callback (configs/hydra/default.yaml). It reads what each job wrote into its own
folder, status.json (runs/run_status.py) and metrics.json, never the memory of the process that
started the sweep: jobs may run in other processes (joblib) or on other machines (submitit).
Into the multirun folder it writes
  summary.csv            one row per job: job, status, error, every override, every metric, run dir
  summary.md             the same, readable: best first by the optimized metric, failures last
  summary_by_config.csv  when jobs differ only by `seed`: mean and std per configuration
  summary_<key>.png      the optimized metric against each swept key (log axis over >= 2 decades)
  <job>/hparams/         TensorBoard's HParams view: `tensorboard --logdir <multirun folder>`, HPARAMS
After every job (in that job's process, under a file lock) the files are rewritten, so they
are there even if the sweep itself dies; when the sweep ends, the best 5 are printed with the
command that reproduces the best, and the command exits 1 if any job failed.
Our own code: Hydra has no sweep summary.

Also a command, e.g. for a sweep stopped with Ctrl-C: `python -m <package>.sweeps.summary <multirun folder>`.
"""

import csv
import fcntl
import math
import re
import statistics
import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from hydra.types import RunMode

from ..core.logged_metrics import lower_is_better, written_metric
from ..runs.printed_command import printed_command
from ..runs.run_folder import settings_of
from ..runs.run_status import read_metrics, read_status
from .finish_sweep import finish_line


class SweepSummary(Callback):
    def __init__(self, direction: str = "auto", top: int = 5, plots: bool = True, tensorboard: bool = True):
        if direction not in ("auto", "minimize", "maximize"):
            raise ValueError(f"sweep_summary direction={direction!r}: use auto, minimize or maximize")
        self.direction, self.top, self.plots, self.tensorboard = direction, top, plots, tensorboard

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        job_dir = Path(config.hydra.runtime.output_dir)
        if self.tensorboard and not (job_dir / "hparams").is_dir():  # a finished job kept when a sweep is finished
            write_hparams(job_dir, job_dir / "hparams")
        with locked(job_dir.parent):  # jobs ending together write one after the other
            write_summary(job_dir.parent, config.get("optimized_metric", ""), self.direction)

    def on_multirun_end(self, config, **kwargs) -> None:
        """The summary and the best jobs; a summary that fails fails the sweep, with the reason
        (Hydra would only warn about an error in a callback: a stale summary, exit 0)."""
        from ..runs import failures

        try:
            self.summarize(config)
        except Exception as error:  # every failure here must reach the exit code
            print(f"error: the sweep summary of {config.hydra.sweep.dir} failed: {type(error).__name__}: {error}. "
                  f"The jobs' own results are in their folders; write the summary again with: "
                  + printed_command("python", "-m", f"{__package__}.summary", str(config.hydra.sweep.dir)), file=sys.stderr, flush=True)
            failures.exit_code = failures.exit_code or 1

    def summarize(self, config) -> None:
        from ..runs import failures

        sweep_dir = Path(config.hydra.sweep.dir)
        with locked(sweep_dir):
            jobs, metric, lower = write_summary(sweep_dir, config.get("optimized_metric", ""), self.direction)
        if self.plots:
            plot_swept_keys(sweep_dir, jobs, metric)
        print_best(sweep_dir, jobs, metric, lower, self.top)
        if any(job["status"] not in ("finished", "pruned") for job in jobs):
            failures.exit_code = failures.exit_code or 1  # train.py exits with it once Hydra returns


def read_jobs(sweep_dir: Path) -> list[dict]:
    """Every job folder of the sweep (a folder with .hydra/), its status, overrides and metrics."""
    jobs = []
    for folder in sorted(Path(sweep_dir).iterdir(), key=lambda p: (len(p.name), p.name)):
        if not (folder / ".hydra").is_dir():
            continue
        status = read_status(folder)
        overrides = status.get("overrides") or read_overrides(folder)
        jobs.append({
            "job": folder.name,
            "status": status.get("status", "not started"),  # killed before report() ran
            "error": status.get("error") or "",
            "overrides": overrides,
            "settings": settings_of(overrides),
            "metrics": status.get("metrics") or read_metrics(folder),
            "run_dir": str(folder),
        })
    return jobs


def read_overrides(folder: Path) -> list[str]:
    from omegaconf import OmegaConf

    path = folder / ".hydra" / "overrides.yaml"
    return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []


def optimized(jobs: list[dict], metric: str, direction: str = "auto") -> tuple[str, bool]:
    """(the metric the sweep is sorted by, lower is better): `optimized_metric`, or what run.py returned
    instead (regression: val/r2 for the default val/acc; the overfitting check: train/loss)."""
    finished = [job["metrics"] for job in jobs if job["metrics"]]
    if not any(metric in m for m in finished):
        if any(written_metric(metric, m) != metric for m in finished):
            metric = next(written_metric(metric, m) for m in finished if written_metric(metric, m) != metric)
        elif any("overfit/passed" in m for m in finished):
            metric = "train/loss"
    lower = lower_is_better(metric) if direction == "auto" else direction == "minimize"
    return metric, lower


def ranked(jobs: list[dict], metric: str, lower: bool) -> list[dict]:
    """Finished jobs best first, then the others (failed, running, ...) in job order."""
    def key(job):
        value = job["metrics"].get(metric, math.nan)
        if job["status"] != "finished" or not math.isfinite(value):
            return (1, 0.0)
        return (0, value if lower else -value)

    return sorted(jobs, key=key)  # stable: ties and the unfinished keep job order


def swept_keys(jobs: list[dict]) -> list[str]:
    """Keys whose value differs between jobs, in the order of the command line."""
    keys = list(dict.fromkeys(key for job in jobs for key in job["settings"]))
    return [key for key in keys if len({job["settings"].get(key) for job in jobs}) > 1]


def write_summary(sweep_dir: Path, metric: str, direction: str = "auto") -> tuple[list[dict], str, bool]:
    """(Re)write summary.csv, summary.md and, with repeated seeds, summary_by_config.csv."""
    from ..runs.atomic_write import write_atomically

    jobs = read_jobs(sweep_dir)
    metric, lower = optimized(jobs, metric, direction)
    jobs = ranked(jobs, metric, lower)
    keys = list(dict.fromkeys(key for job in jobs for key in job["settings"]))
    metrics = sorted({name for job in jobs for name in job["metrics"]}, key=lambda m: (m != metric, m))
    rows = [["job", "status", "error", *keys, *metrics, "run_dir"]]
    for job in jobs:
        rows.append([job["job"], job["status"], job["error"], *(job["settings"].get(k, "") for k in keys),
                     *(job["metrics"].get(m, "") for m in metrics), job["run_dir"]])
    write_atomically(sweep_dir / "summary.csv", csv_text(rows).encode())
    groups = seed_groups(jobs, metrics)
    if groups:
        write_atomically(sweep_dir / "summary_by_config.csv", csv_text(grouped_rows(groups, metrics)).encode())
    text = markdown(jobs, metric, lower, groups)
    if any(job["status"] not in ("finished", "failed", "pruned") for job in jobs):  # running, or stopped or killed
        text += finish_line(sweep_dir)
    write_atomically(sweep_dir / "summary.md", text.encode())
    return jobs, metric, lower


def csv_text(rows: list[list]) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def seed_groups(jobs: list[dict], metrics: list[str]) -> list[dict]:
    """Finished jobs that differ only by `seed`, one group per configuration: mean and std of each metric.
    Empty unless some configuration ran with at least two seeds."""
    groups: dict[tuple, list[dict]] = {}
    for job in jobs:
        if job["status"] == "finished":
            configuration = tuple((k, v) for k, v in job["settings"].items() if k != "seed")
            groups.setdefault(configuration, []).append(job)
    if not any(len(members) > 1 for members in groups.values()):
        return []
    summary = []
    for configuration, members in groups.items():
        stats = {}
        for name in metrics:
            values = [job["metrics"][name] for job in members  # nan has no mean (and statistics.stdev fails on it)
                      if name in job["metrics"] and math.isfinite(job["metrics"][name])]
            if values:  # the sample standard deviation (n - 1); 0 for a single seed
                stats[name] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        summary.append({"configuration": dict(configuration), "jobs": [job["job"] for job in members],
                        "seeds": [job["settings"].get("seed", "") for job in members], "stats": stats})
    return summary  # in the order of each configuration's best job


def grouped_rows(groups: list[dict], metrics: list[str]) -> list[list]:
    keys = list(dict.fromkeys(key for group in groups for key in group["configuration"]))
    rows = [[*keys, "n", "seeds", "jobs", *(f"{m} {s}" for m in metrics for s in ("mean", "std"))]]
    for group in groups:
        stats = group["stats"]
        rows.append([*(group["configuration"].get(k, "") for k in keys), len(group["jobs"]),
                     " ".join(group["seeds"]), " ".join(group["jobs"]),
                     *(v for m in metrics for v in stats.get(m, ("", "")))])
    return rows


def markdown(jobs: list[dict], metric: str, lower: bool, groups: list[dict]) -> str:
    keys = swept_keys(jobs) or list(dict.fromkeys(key for job in jobs for key in job["settings"]))
    common = [o for o in jobs[0]["overrides"] if o.partition("=")[0].lstrip("+") not in keys] if jobs else []
    failed = [job for job in jobs if job["status"] != "finished"]
    lines = [f"# Sweep summary: {len(jobs)} jobs, {len(jobs) - len(failed)} finished, {len(failed)} not",
             "", f"Sorted by `{metric}` ({'lower' if lower else 'higher'} is better).",
             f"Common to every job: `{' '.join(common)}`" if common else "", "",
             "| job | status | " + " | ".join(f"`{k}`" for k in keys) + f" | `{metric}` | run dir |",
             "|---" * (len(keys) + 4) + "|"]
    for job in jobs:
        value = job["metrics"].get(metric)
        status = job["status"] + (f": {job['error']}" if job["error"] else "")
        lines.append(f"| {job['job']} | {status.replace('|', '/')} | "
                     + " | ".join(job["settings"].get(k, "") for k in keys)
                     + f" | {'' if value is None else f'{value:.4f}'} | {job['run_dir']} |")
    if groups:
        lines += ["", f"## By configuration: `{metric}`, mean ± std over seeds", "",
                  "| configuration | seeds | mean ± std | jobs |", "|---|---|---|---|"]
        for group in groups:
            mean, std = group["stats"].get(metric, (math.nan, math.nan))
            configuration = " ".join(f"{k}={v}" for k, v in group["configuration"].items() if k in keys)
            lines.append(f"| {configuration or '(the same)'} | {len(group['jobs'])} | {mean:.4f} ± {std:.4f} | "
                         f"{' '.join(group['jobs'])} |")
    return "\n".join(lines) + "\n"


def print_best(sweep_dir: Path, jobs: list[dict], metric: str, lower: bool, top: int) -> None:
    finished = [job for job in jobs if job["status"] == "finished" and metric in job["metrics"]]
    failed = [job for job in jobs if job["status"] != "finished"]
    print(f"\nsweep: {len(jobs)} jobs, {len(finished)} finished; best by {metric} "
          f"({'lower' if lower else 'higher'} is better):")
    keys = swept_keys(jobs)

    def setting(job):
        return " ".join(f"{k}={job['settings'].get(k, '')}" for k in keys)

    for job in finished[:top]:
        print(f"  {job['metrics'][metric]:.4f}  job {job['job']}: {setting(job)}")
    for job in failed:
        print(f"  {job['status'].upper()}  job {job['job']}: {setting(job)}: {job['error']}")
    if finished:
        alone = [o for o in finished[0]["overrides"] if not o.lstrip("+~").startswith(("optuna_trial", "sweep="))]
        print("reproduce the best: " + printed_command("train.py", *alone))  # as a single run
    print(f"summary: {sweep_dir / 'summary.md'} (and summary.csv)")


def plot_swept_keys(sweep_dir: Path, jobs: list[dict], metric: str) -> None:
    """One PNG per swept key: the metric of each finished job against the key's value."""
    finished = [job for job in jobs if job["status"] == "finished" and metric in job["metrics"]]
    if not finished:
        return
    from ..core.writer import pyplot  # matplotlib: only here (it costs ~0.5 s)

    plt = pyplot()
    for key in swept_keys(jobs):
        values = [job["settings"].get(key, "") for job in finished]
        numbers = [as_number(v) for v in values]
        numeric = all(n is not None for n in numbers)
        figure, ax = plt.subplots(figsize=(5, 3.5))
        if numeric:
            ax.scatter(numbers, [job["metrics"][metric] for job in finished])
            if min(numbers) > 0 and max(numbers) / min(numbers) >= 100:  # spans two decades or more
                ax.set_xscale("log")
        else:
            categories = list(dict.fromkeys(values))
            ax.scatter([categories.index(v) for v in values], [job["metrics"][metric] for job in finished])
            ax.set_xticks(range(len(categories)), categories)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(sweep_dir / f"summary_{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.png", dpi=100)
        plt.close(figure)


def as_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def write_hparams(job_dir: Path, log_dir: Path) -> None:
    """TensorBoard's HParams view of one job: its overrides and status, its final metrics."""
    status = read_status(job_dir)
    metrics = {k: v for k, v in (status.get("metrics") or {}).items() if math.isfinite(v)}
    if not metrics:  # nothing to compare (e.g. a failed validation: torch is not even loaded)
        return
    from torch.utils.tensorboard import SummaryWriter

    hparams = {k: (as_number(v) if as_number(v) is not None else v)
               for k, v in settings_of(status.get("overrides") or []).items()}
    hparams["status"] = status.get("status", "")
    with SummaryWriter(log_dir=str(log_dir)) as writer:
        writer.add_hparams(hparams, {f"final/{k}": v for k, v in metrics.items()}, run_name=".")


class locked:
    """`with locked(folder):` one process at a time (flock on <folder>/.summary.lock)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".summary.lock"

    def __enter__(self):
        self.file = open(self.path, "w")
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        self.file.close()  # closing drops the lock


if __name__ == "__main__":
    from omegaconf import OmegaConf

    folder = Path(sys.argv[1])
    config = OmegaConf.load(folder / "multirun.yaml")
    jobs, metric, lower = write_summary(folder, config.get("optimized_metric", ""))
    plot_swept_keys(folder, jobs, metric)
    print_best(folder, jobs, metric, lower, top=5)
    if any(job["status"] not in ("finished", "failed", "pruned") for job in jobs):
        print(finish_line(folder).strip())  # e.g. a sweep killed with -9: the command that finishes it
