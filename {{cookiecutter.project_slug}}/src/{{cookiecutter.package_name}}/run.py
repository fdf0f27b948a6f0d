"""One training run, top to bottom: train(cfg) -> the metric a sweep optimizes.

Each step is one visible line; nothing is hidden in a base class.
"""

import json
import warnings
from pathlib import Path

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig
{%- if cookiecutter.__with_checks == "yes" %}

from {{cookiecutter.package_name}}.checks.baselines import report_baselines
{%- endif %}

from .core.data import SplitData
from .core.ddp_strategy import refuse_ddp_in_a_sweep
from .core.headline import headline_lines
from .core.logged_metrics import task_metric, written_metric
from .core.module import Classifier, build_module
from .core.overfit_check import overfit_check_config
from .core.overfit_verdict import OverfitVerdict
from .core.stopping import why_training_stopped
from .core.training import build_trainer, evaluate_best
from .core.validate import ConfigError
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
from .pseudo_labels.rounds import pseudo_label_rounds
{%- endif %}
from .runs import stop_signals
from .runs.allowlist import warn_unlisted_targets
from .runs.atomic_write import write_atomically
from .runs.failures import RunFailed
from .runs.printed_command import printed_command
from .runs.resume import resume_run, start_resumed_training
from .runs.run_status import strict_json
from .runs.split_fingerprint import small_split_note, write_split_fingerprint
{%- if cookiecutter.__with_sweeps == "yes" %}
from .sweeps.ddp_in_sweeps import ddp_processes_to_start, train_in_own_processes
from .sweeps.optuna_pruning import raise_if_pruned
{%- endif %}
{%- if cookiecutter.__with_workflow == "yes" %}
from .workflow.worklog import run_ended, start_run
{%- endif %}

# Known, harmless warnings of this setup, silenced so that the real ones stand out.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")  # Lightning vs torch 2.13
warnings.filterwarnings("ignore", message="The number of training batches .* logging interval")  # tiny data
warnings.filterwarnings("ignore", message="You have overridden `on_after_batch_transfer`")  # we mean to
warnings.filterwarnings("ignore", message=r".*multiple `ModelCheckpoint` callbacks")  # snapshots add one


def train(cfg: DictConfig) -> float:
    stop_signals.listen()  # each stage of a ladder again: a signal noted while the last one ended stops here
{%- if cookiecutter.__with_sweeps == "yes" %}
    if ddp_processes_to_start(cfg):  # DDP inside a sweep (-m): this job starts its own processes
        return train_in_own_processes(train, cfg)
{%- endif %}
    refuse_ddp_in_a_sweep(cfg)  # (DDP inside -m without the processes started above: Lightning would re-run the sweep)
    cfg, resume_from = resume_run(cfg)  # resume=<run dir>: its own config, newest valid checkpoint; folder locked
    warn_unlisted_targets(cfg)  # classes eval.py and resume= would refuse to build (runs/allowlist.py)
    if cfg.get("overfit"):  # overfit=true (or data=tiny): the overfitting check on this data and model
        cfg = overfit_check_config(cfg)
    run_dir = Path(cfg.paths.run_dir)
    if cfg.resume and resume_from is None:  # that run had finished and the budget was not raised: nothing done
        written = json.loads((run_dir / "metrics.json").read_text())
        return written.get(written_metric(cfg.optimized_metric, written))  # on regression: val/acc means val/r2
{%- if cookiecutter.__with_workflow == "yes" %}
    start_run(cfg, run_dir)  # run_record.json: command, git commit and patch, versions, machine (workflow/run_record.py)
{%- endif %}
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data, module = build_data_and_module(cfg)
    write_split_fingerprint(run_dir, data)  # split.json: eval.py combines runs only on the same test set
    if (note := small_split_note(data)) and not cfg.get("overfit") and not cfg.resume and rank_zero_only.rank == 0:
        print(note)  # fewer than ~30 validation or test examples: once, at the start
    trainer = build_trainer(cfg, run_dir)  # callbacks, loggers, atomic checkpoint writes (core/training.py)

    start_resumed_training(cfg)  # resume=: the new budget into its config, status "running" (runs/resume.py)
    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)
    stopped = why_training_stopped(trainer)  # fails (RunFailed) if early stopping saw NaN/inf (every process)
    if trainer.is_global_zero:
        print(stopped)

    verdict = next((c for c in trainer.callbacks if isinstance(c, OverfitVerdict)), None)
    if verdict is not None:  # the overfitting check (data=tiny): its verdict is the result
        metrics = {"train/loss": verdict.last_loss, "overfit/passed": float(verdict.passed)}
        finish(trainer, run_dir, metrics, headline=verdict.verdict())
        if not verdict.passed:
            raise RunFailed(verdict.verdict())  # a failed check must fail the command (and CI, and a sweep)
        return metrics["train/loss"]

    metrics = evaluate_best(trainer, module, data)  # test/, val/ of the best weights (and what callbacks add)
{%- if cookiecutter.__with_checks == "yes" %}
    if cfg.get("baselines", True):  # scikit-learn models on the same split: is a network needed at all?
        metrics |= report_baselines(trainer, data, metrics, cache_dir=Path(cfg.paths.log_dir) / "cache")
{%- endif %}
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
    metrics = pseudo_label_rounds(cfg, data, module, run_dir, metrics)  # pseudo_label.rounds > 0: train again, round_<r>/
{%- endif %}
    finish(trainer, run_dir, metrics)
{%- if cookiecutter.__with_sweeps == "yes" %}
    raise_if_pruned(trainer)  # sweep=optuna: a trial its pruner stopped ends "pruned" (sweeps/optuna_pruning.py)
{%- endif %}
    return metrics[optimized_metric(cfg, data)]


def optimized_metric(cfg: DictConfig, data: SplitData) -> str:
    """The key a sweep optimizes: `optimized_metric`, as this data's task means it (logged_metrics.task_metric:
    on regression the default val/acc means val/r2)."""
    return task_metric(cfg.optimized_metric, data.task)


def build_data_and_module(cfg: DictConfig) -> tuple[SplitData, Classifier]:
    """The datamodule (loaded and split: shapes and classes known) and the module built for it."""
    data = build_data(cfg)
    return data, build_module(cfg, data)


def build_data(cfg: DictConfig) -> SplitData:
    try:
        data = instantiate(cfg.data)
    except InstantiationException as error:  # Hydra wraps errors: bad data deserves its own clear message
        if isinstance(error.__cause__, ConfigError):
            raise error.__cause__ from None
        raise
    if not isinstance(data, SplitData):
        raise ConfigError(
            f"data._target_={cfg.data._target_} gives a {type(data).__name__}, not a SplitData: every part of "
            "the project reads data through that contract (core/data.py; docs/data.md)."
        )
    return data


def finish(trainer, run_dir: Path, metrics: dict, headline: str | None = None) -> None:
    """Write metrics.json and print the results and where they are (on the main process only)."""
    for logger in trainer.loggers:  # flush what was logged after trainer.test/validate (steps after the fit)
        logger.finalize("success")
    if not trainer.is_global_zero:
        return
    stop_signals.raise_if_received()  # a Ctrl-C swallowed on its way up: the run was stopped, not finished
    metrics = {key: float(value) for key, value in sorted(metrics.items())}
    stop_signals.hold()  # the result is written now: a signal from here on is noted, the ending is written in full
    write_atomically(run_dir / "metrics.json", strict_json(metrics).encode())  # replaces the old one only now
    if headline:
        print(headline)
    print("\n".join(headline_lines(metrics)))  # the rest: metrics.json and TensorBoard (next line)
    print(f"all {len(metrics)} numbers: {run_dir / 'metrics.json'} and `{printed_command('tensorboard', '--logdir', run_dir)}`")
{%- if cookiecutter.__with_workflow == "yes" %}
    run_ended(metrics)  # the target met or not, the line in logs/worklog.md, the end of train.log (workflow/worklog.py)
{%- endif %}
    print(f"run directory: {run_dir}")
