"""The sweep keys of a job's config, checked with the core's before any work (validation.py)."""

from omegaconf import DictConfig

from ..core.config_values import cfg_value, is_whole
from ..core.validate import Values


def sweep_problems(cfg) -> list[str]:
    """`optuna_trial`: the Optuna trial a sweep job reports to (set by src/hydra_plugins/search_sweeper, train.yaml)."""
    check = Values(cfg)
    trial = cfg_value(cfg, "optuna_trial")
    check.need(trial is None or (isinstance(trial, DictConfig) and isinstance(trial.get("study"), str)
                                 and isinstance(trial.get("storage"), str) and is_whole(trial.get("number"))
                                 and trial.number >= 0),
               "optuna_trial", "null, or {study: <name>, storage: <journal file>, number: <trial>}, which the "
               "sweepers of configs/sweep/ set for each job (not set by hand)")
    return check.problems
