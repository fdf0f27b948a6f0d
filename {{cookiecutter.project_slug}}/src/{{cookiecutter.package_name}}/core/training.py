"""One fit's Trainer and the numbers of its best weights, shared by a run (run.py) and every fit a
feature room adds (a pseudo-label round, a stage), so that all are built and evaluated the same way."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from ..runs.atomic_write import AtomicCheckpointIO


def build_trainer(cfg: DictConfig, run_dir: Path):
    """The Trainer with the config's callbacks (and those of the feature groups chosen) and loggers."""
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
{%- if cookiecutter.__with_curriculum == "yes" %}
    if (cfg.get("curriculum") or {}).get("_target_"):  # curriculum=easy_to_hard, ...: a callback too
        callbacks.append(instantiate(cfg.curriculum))
{%- endif %}
    loggers = [instantiate(c) for c in (cfg.logger or {}).values() if c is not None]
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, default_root_dir=run_dir,
                       plugins=[AtomicCheckpointIO()])  # a checkpoint is complete or absent, never truncated


def evaluate_best(trainer, module, data) -> dict:
    """train/loss, then test/ and val/ of the best checkpoint; what the callbacks log at test end (a feature room's
    table, say) comes back with the test's results."""
    best = "best" if trainer.checkpoint_callback is not None and trainer.checkpoint_callback.best_model_path else None
    metrics = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
    metrics |= trainer.test(module, datamodule=data, ckpt_path=best, verbose=False)[0]
    metrics |= (trainer.validate(module, datamodule=data, verbose=False) or [{}])[0]  # same weights; [] if no val
    return metrics
