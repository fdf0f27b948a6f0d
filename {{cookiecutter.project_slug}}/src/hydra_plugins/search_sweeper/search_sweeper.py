"""A Hydra sweeper for random, quasi-random, jittered log-grid and Optuna (TPE, CMA-ES) searches.

The official hydra-optuna-sweeper pins optuna<3, so this is our own, on Optuna's ask-and-tell
API: ask the sampler for a trial's values, run the trial as a Hydra job (any launcher:
sequential, joblib, submitit), tell Optuna the job's result. The study lives in
`<multirun dir>/optuna.journal` (Optuna's journal file storage, safe across processes and
machines on a shared file system): each job gets `optuna_trial={study, storage, number}` so
that sweeps/optuna_pruning.py can report to its trial and stop it early.

The search space uses Hydra's own sweep syntax, in `hydra.sweeper.params` (configs/sweep/)
or on the command line (which wins):
    optimizer.lr='tag(log, interval(1e-5, 1e-1))'   log-uniform float
    regularization.dropout='interval(0, 0.5)'       uniform float
    model.width='int(interval(16, 128))'            uniform integer (tag(log, ...) also works)
    model=choice(tiny,small)  or  model=tiny,small  categorical
    anything else (key=value)                       the same in every job
A job that fails is told to Optuna as FAIL, a pruned one as PRUNED; the sweep goes on.
Every trial is listed in `<multirun dir>/trials.csv` (trial, state, value, run_dir, params).

Hydra imports this file at every start (plugin discovery): optuna is imported only in sweep().
"""

import csv
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.utils import instantiate
from omegaconf import OmegaConf

from .log_grid import JitteredLogGrid


@dataclass
class SearchSweeperConf:
    """`hydra.sweeper` for the strategies of configs/sweep/ (random, quasi_random, log_grid, optuna)."""

    _target_: str = "hydra_plugins.search_sweeper.search_sweeper.SearchSweeper"
    _recursive_: bool = False  # the sampler is built in sweep(), where optuna is imported
    sampler: Any = None  # an Optuna sampler: {_target_: optuna.samplers.TPESampler, seed: 0}
    n_trials: int = 10  # jobs to run (log_grid: its points decide)
    direction: str | None = None  # minimize | maximize; null: from optimized_metric (*loss: minimize)
    batch_size: int | None = None  # trials launched together; null: hydra.launcher.n_jobs if set, else 1
    log_grid: Any = None  # the jittered log-grid settings (log_grid.py); null: the sampler decides
    study_name: str = "sweep"
    params: dict[str, str] | None = None  # the search space (see the top of this file); null: only the command line's


ConfigStore.instance().store(group="hydra/sweeper", name="search", node=SearchSweeperConf, provider="search_sweeper")


class SearchSweeper(Sweeper):
    def __init__(self, sampler, n_trials, direction, batch_size, log_grid, study_name, params):
        self.sampler_config, self.n_trials, self.direction = sampler, n_trials, direction
        self.batch_size, self.log_grid, self.study_name, self.params = batch_size, log_grid, study_name, params
        self.job_index = 0
        self.run_dirs = {}  # trial number -> its job's folder

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial comes from report() below
        space, fixed = search_space([f"{key}={value}" for key, value in (self.params or {}).items()] + arguments)
        if not space:
            raise HydraException("hydra.sweeper.params is empty and no argument is a sweep: nothing to search. "
                                 "Give a search space, e.g. 'optimizer.lr=tag(log, interval(1e-4, 1e-1))'.")
        choices = [[f"{key}={choice}", *fixed] for key, distribution in space.items()
                   for choice in getattr(distribution, "choices", [])]
        self.validate_batch_is_legal(choices)  # a typo in a choice (model=choice(tiny,smal)) fails before any job
        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper does
        self.journal = sweep_dir / "optuna.journal"
        self.trials_csv = sweep_dir / "trials.csv"
        with warnings.catch_warnings():  # Optuna marks QMCSampler experimental (since v3.0): only noise here
            warnings.filterwarnings("ignore", message="QMCSampler is experimental")
            sampler = instantiate(self.sampler_config) if self.sampler_config else None
        self.objective = objective(self.config)
        self.maximize = maximize(self.direction, self.objective)
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(self.journal)))
        study = optuna.create_study(study_name=self.study_name, storage=storage, sampler=sampler,
                                    direction="maximize" if self.maximize else "minimize")
        print(f"sweep: {study.direction.name.lower()} {self.objective}, study in {self.journal}")
        if self.log_grid:
            self.run_log_grid(study, space, fixed)
        else:
            while len(study.trials) < self.n_trials:
                count = min(self.trials_per_batch(), self.n_trials - len(study.trials))
                self.run_trials(study, [study.ask(space) for _ in range(count)], fixed)
        return study.trials

    def run_log_grid(self, study, space: dict, fixed: list[str]) -> None:
        import optuna

        name, distribution = next(iter(space.items()))
        if len(space) > 1 or not (isinstance(distribution, optuna.distributions.FloatDistribution) and distribution.log):
            raise HydraException(
                f"sweep=log_grid searches ONE log-scaled parameter, e.g. 'optimizer.lr=tag(log, interval(1e-4, 1e-1))'; "
                f"got {', '.join(space)}. For several parameters use sweep=quasi_random."
            )
        grid = JitteredLogGrid(low=distribution.low, high=distribution.high, **self.log_grid)
        points = grid.first_points()
        while points:
            single = [optuna.distributions.FloatDistribution(point, point, log=True) for point in points]
            self.run_trials(study, [study.ask({name: distribution}) for distribution in single], fixed)
            results = {t.params[name]: (t.value if t.state.name == "COMPLETE" else None) for t in study.trials}
            points = grid.next_points(results, self.maximize)

    def run_trials(self, study, trials: list, fixed: list[str]) -> None:
        """Launch one job per trial, then tell Optuna how each ended: COMPLETE, PRUNED or FAIL."""
        from optuna.trial import TrialState

        batch = [[f"{key}={value}" for key, value in trial.params.items()] + fixed + [self.trial_override(study, trial)]
                 for trial in trials]
        self.validate_batch_is_legal(batch)  # a typo in the search space fails here, before any job runs
        returns = self.launcher.launch(batch, initial_job_idx=self.job_index)
        self.job_index += len(returns)
        stored = {t.number: t for t in study.get_trials(deepcopy=False)}  # read again: jobs wrote to it
        for trial, job in zip(trials, returns, strict=True):
            value, error = job_result(job)
            pruned_at = stored[trial.number].user_attrs.get("pruned_at_epoch")
            if pruned_at is not None:  # the job stopped early (sweeps/optuna_pruning.py): its last report counts
                study.tell(trial, state=TrialState.PRUNED)
                error = None  # the job returned NaN on purpose (failures.Pruned): not a failure
            elif error is not None:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, value)
            self.report(study, trial.number, job, error)

    def report(self, study, number: int, job, error: str | None) -> None:
        """One line per finished trial, and trials.csv rewritten with every trial so far."""
        trial = study.get_trials(deepcopy=False)[number]
        params = " ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                          for key, value in trial.params.items())
        outcome = error or (f"{self.objective}={trial.value:.4g}" if trial.value is not None else "")
        if trial.state.name == "PRUNED":
            outcome = f"pruned at epoch {trial.user_attrs['pruned_at_epoch']}"
        print(f"trial {number} {trial.state.name}: {outcome}  ({params})", flush=True)
        self.run_dirs[number] = run_dir(job)
        names = sorted({key for t in study.trials for key in t.params})
        with open(self.trials_csv, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["trial", "state", "value", "run_dir", *names])
            for t in study.get_trials(deepcopy=False):
                if t.state.name == "RUNNING":
                    continue
                writer.writerow([t.number, t.state.name, "" if t.value is None else t.value,
                                 self.run_dirs.get(t.number, ""), *[t.params.get(key, "") for key in names]])

    def trial_override(self, study, trial) -> str:
        """`optuna_trial={...}`: which trial this job is, for sweeps/optuna_pruning.py (train.yaml)."""
        storage = str(self.journal).replace("\\", "\\\\").replace("'", "\\'")
        return "optuna_trial={" + f"study:'{study.study_name}',storage:'{storage}',number:{trial.number}" + "}"

    def trials_per_batch(self) -> int:
        if self.batch_size:
            return self.batch_size
        n_jobs = OmegaConf.select(self.config, "hydra.launcher.n_jobs", default=None)
        if isinstance(n_jobs, int) and n_jobs < 0:  # joblib: -1 means every core
            import os

            return os.cpu_count() or 1
        return n_jobs or 1


def search_space(arguments: list[str]) -> tuple[dict, list[str]]:
    """Hydra sweep syntax -> ({key: Optuna distribution}, [fixed overrides]); the last one of a key wins."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    space, fixed = {}, {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        value = override.value()
        if not override.is_sweep_override():
            fixed[key] = override.input_line or f"{key}={override.get_value_element_as_str()}"
        elif override.is_interval_sweep():
            kind = IntDistribution if isinstance(value.start, int) and isinstance(value.end, int) else FloatDistribution
            space[key] = kind(value.start, value.end, log="log" in value.tags)
        elif override.is_range_sweep() and not value.shuffle:
            kind = IntDistribution if all(isinstance(v, int) for v in (value.start, value.stop, value.step)) else None
            if kind is None:
                raise HydraException(f"{override.input_line}: a range of floats; use interval() or choice().")
            space[key] = IntDistribution(value.start, value.stop - value.step, step=value.step)  # stop excluded
        else:  # choice(a, b) or a,b
            space[key] = CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    return space, list(fixed.values())


def objective(config) -> str:
    """What every job returns (run.py): train/loss in the overfitting check (overfit=true, data=tiny),
    else optimized_metric."""
    return "train/loss" if config.get("overfit") else str(config.get("optimized_metric"))


def maximize(direction: str | None, optimized_metric: str | None) -> bool:
    """hydra.sweeper.direction if set; else from the name of optimized_metric (train.yaml), as every
    other direction in the project (logged_metrics.lower_is_better)."""
    if direction is not None:
        if direction not in ("minimize", "maximize"):
            raise HydraException(f"hydra.sweeper.direction={direction!r} is not allowed: use minimize or maximize.")
        return direction == "maximize"
    from {{cookiecutter.package_name}}.core.logged_metrics import lower_is_better

    return not lower_is_better(str(optimized_metric))


def job_result(job) -> tuple[float | None, str | None]:
    """(the job's return value, None) or (None, why it failed: the first line of the error)."""
    if job.status == JobStatus.FAILED:  # Hydra keeps the exception there (job.return_value would raise it)
        return None, (str(job._return_value).strip().splitlines() or [type(job._return_value).__name__])[0]
    value = job.return_value
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None, f"train.py returned {value!r}, not a finite number"
    return float(value), None


def run_dir(job) -> str:
    return str(OmegaConf.select(job.hydra_cfg, "hydra.runtime.output_dir", default="") or "") if job.hydra_cfg else ""
