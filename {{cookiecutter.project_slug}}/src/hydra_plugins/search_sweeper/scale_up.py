"""Run small, then check at 10x: the best configurations of a finished sweep, again at ten times the scale.

The methodology: explore with small, cheap experiments, then check that what won there still
wins at the scale you care about. `python train.py -m experiment=scale_10x
hydra.sweeper.small=<multirun dir>` reads that sweep's summary.csv (sweeps/summary.py: best
first), takes its `top` finished jobs, and runs each again with `key` (data.fraction, or
trainer.max_epochs) multiplied by `factor`. At the end it prints and writes `scale_up.md`: each
configuration's metric and rank, small and large, and whether the ranking held.
Our own code: no Hydra sweeper re-runs the best jobs of another sweep.
"""

import math
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from omegaconf import OmegaConf

from {{cookiecutter.package_name}}.core.logged_metrics import written_metric

from .search_sweeper import job_result, maximize, objective


@dataclass
class ScaleUpSweeperConf:
    """`hydra.sweeper` of configs/experiment/scale_10x.yaml."""

    _target_: str = "hydra_plugins.search_sweeper.scale_up.ScaleUpSweeper"
    small: str | None = None  # the small sweep's folder (logs/multiruns/<date>_<time>): its summary.csv
    top: int = 3  # how many of its best finished jobs to run again
    key: str = "data.fraction"  # what grows: data.fraction (more data) or trainer.max_epochs (more steps)
    factor: float = 10.0


ConfigStore.instance().store(group="hydra/sweeper", name="scale_up", node=ScaleUpSweeperConf, provider="search_sweeper")

NOT_THE_CONFIGURATION = (  # the project's run_record.NOT_WHAT_IS_TRAINED, and what scale_up replaces
    "final", "target", "optuna_trial", "sweep", "hydra.", "paths.", "note", "experiment")


class ScaleUpSweeper(Sweeper):
    def __init__(self, small, top, key, factor):
        self.small, self.top, self.key, self.factor = small, top, key, factor

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.hydra_context, self.config = hydra_context, config  # validate_batch_is_legal reads hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list:
        small = self.small_jobs()
        given = {key_of(argument) for argument in arguments}  # this command line wins over the small jobs'
        batch = [[*(o for o in job["overrides"] if key_of(o) not in given), f"{self.key}={job['scaled']}", *arguments]
                 for job in small]
        self.validate_batch_is_legal(batch)  # a bad override fails before any job
        returns = self.launcher.launch(batch, initial_job_idx=0)
        large = [job_result(job)[0] for job in returns]  # None: that job failed
        table = ranking_table(small, large, objective(self.config), maximize(None, objective(self.config)))
        print(table)
        Path(self.config.hydra.sweep.dir, "scale_up.md").write_text(table)
        return [returns]

    def small_jobs(self) -> list[dict]:
        """The `top` best finished jobs of the small sweep: overrides, metric, and the scaled value of `key`."""
        import csv

        summary = Path(str(self.small or ""), "summary.csv")
        if not self.small or not summary.is_file():
            raise HydraException(f"hydra.sweeper.small={self.small!r}: give the folder of a finished sweep "
                                 "(logs/multiruns/<date>_<time>, it holds summary.csv).")
        rows = [row for row in csv.DictReader(summary.open()) if row["status"] == "finished"][: self.top]
        if not rows:
            raise HydraException(f"{summary} lists no finished job: nothing to scale up.")
        metric = objective(self.config)
        metric = written_metric(metric, rows[0])  # regression: val/r2 for the default val/acc (what run.py returns)
        if metric not in rows[0]:
            raise HydraException(f"{summary} has no column {metric} (optimized_metric): nothing to rank by.")
        jobs = []
        for row in rows:
            folder = Path(row["run_dir"])
            overrides = [str(o) for o in checked_overrides(folder / ".hydra" / "overrides.yaml")
                         if not key_of(str(o)).startswith(NOT_THE_CONFIGURATION) and key_of(str(o)) != self.key]
            value = recorded_value(folder / ".hydra" / "config.yaml", self.key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise HydraException(f"hydra.sweeper.key={self.key}: job {row['job']} has {value!r} there, not a number.")
            scaled = value * self.factor
            if self.key == "data.fraction" and scaled > 1:
                raise HydraException(f"data.fraction={value} x {self.factor:g} = {scaled:g} is more than the whole "
                                     "training set: run the small sweep at a smaller data.fraction, or scale "
                                     "hydra.sweeper.key=trainer.max_epochs.")
            scaled = round(scaled) if isinstance(value, int) else round(scaled, 6)
            jobs.append({"job": row["job"], "overrides": overrides, "value": value, "scaled": scaled,
                         "metric": float(row[metric]) if row.get(metric) else math.nan})
        return jobs


def checked_overrides(path: Path) -> list:
    """A small job's overrides, untrusted: each parsed and checked before any job is launched (runs/allowlist.py)."""
    from hydra.errors import CompactHydraException

    from {{cookiecutter.package_name}}.runs.allowlist import check_overrides
    from {{cookiecutter.package_name}}.runs.checkpoints import CheckpointError

    if not path.is_file():
        raise CompactHydraException(f"hydra.sweeper.small: {path} does not exist: summary.csv names a job folder "
                                    "without its overrides. No job was launched.")
    overrides = OmegaConf.to_container(OmegaConf.load(path))
    try:
        check_overrides(overrides, path)
    except CheckpointError as error:
        raise CompactHydraException(f"hydra.sweeper.small: {error} No job was launched.") from None
    return overrides


def recorded_value(path: Path, key: str):
    """The value at `key` of a small job's config, as written: an interpolation is not resolved (a file's
    `${...}` could run a resolver), so it reads as text, not a number."""
    value = OmegaConf.to_container(OmegaConf.load(path), resolve=False) if path.is_file() else None
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def ranking_table(small: list[dict], large: list, metric: str, higher_is_better: bool) -> str:
    """Markdown: each configuration's metric and rank, small and large; whether the ranking held."""

    def ranks(values):
        order = sorted(range(len(values)), key=lambda i: (values[i] is None or math.isnan(values[i]),
                                                          -values[i] if higher_is_better else values[i]))
        return {i: rank + 1 for rank, i in enumerate(order)}

    small_values = [job["metric"] for job in small]
    large_values = [math.nan if value is None else value for value in large]
    small_rank, large_rank = ranks(small_values), ranks(large_values)
    lines = [f"# Scale-up check ({metric}, {'higher' if higher_is_better else 'lower'} is better)", "",
             "| small job | configuration | small | rank | large | rank |", "|---|---|---|---|---|---|"]
    for i, job in enumerate(small):
        lines.append(f"| {job['job']} | {' '.join(job['overrides']) or '(defaults)'} | {small_values[i]:.4f} | "
                     f"{small_rank[i]} | {large_values[i]:.4f} | {large_rank[i]} |")
    held = all(small_rank[i] == large_rank[i] for i in range(len(small)))
    lines += ["", "ranking held: the order of the small experiment holds at scale" if held else
              "ranking CHANGED at scale: decide on the large runs, and distrust small-scale conclusions here"]
    return "\n".join(lines) + "\n"
