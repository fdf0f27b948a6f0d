"""One training run, top to bottom: train(cfg) -> the metric a sweep optimizes.

Each step is one visible line; nothing is hidden in a base class.
"""

import json
import warnings
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from .baselines import report_baselines
from .callbacks.overfit_verdict import OverfitVerdict
from .ensemble import ensemble_metrics
from .failures import RunFailed
from .module import Classifier
from .resume import resume_run
from .stopping import why_training_stopped

# Known, harmless warnings of this setup, silenced so that the real ones stand out.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")  # Lightning vs torch 2.13
warnings.filterwarnings("ignore", message="The number of training batches .* logging interval")  # tiny data
warnings.filterwarnings("ignore", message="You have overridden `on_after_batch_transfer`")  # we mean to
warnings.filterwarnings("ignore", message=r".*multiple `ModelCheckpoint` callbacks")  # snapshots add one


def train(cfg: DictConfig) -> float:
    cfg, resume_from = resume_run(cfg)  # resume=<run dir>: its own config, newest valid checkpoint; folder locked
    run_dir = Path(cfg.paths.run_dir)
    if cfg.resume and resume_from is None:  # that run had finished and the budget was not raised: nothing done
        return json.loads((run_dir / "metrics.json").read_text()).get(cfg.optimized_metric)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data, module = build_data_and_module(cfg)
    callbacks = [instantiate(c) for c in (cfg.callbacks or {}).values() if c is not None]
    loggers = [instantiate(c) for c in (cfg.logger or {}).values() if c is not None]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, default_root_dir=run_dir)

    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)
    print(why_training_stopped(trainer))  # fails (RunFailed) if early stopping saw NaN/inf

    verdict = next((c for c in callbacks if isinstance(c, OverfitVerdict)), None)
    if verdict is not None:  # the overfitting check (data=tiny): its verdict is the result
        metrics = {"train/loss": verdict.last_loss, "overfit/passed": float(verdict.passed)}
        finish(trainer, run_dir, metrics, headline=verdict.verdict())
        if not verdict.passed:
            raise RunFailed(verdict.verdict())  # a failed check must fail the command (and CI, and a sweep)
        return metrics["train/loss"]

    best = "best" if trainer.checkpoint_callback is not None and trainer.checkpoint_callback.best_model_path else None
    metrics = {"train/loss": float(trainer.callback_metrics.get("train/loss", float("nan")))}
    metrics |= trainer.test(module, datamodule=data, ckpt_path=best, verbose=False)[0]
    metrics |= trainer.validate(module, datamodule=data, verbose=False)[0]  # the same (best) weights
    if cfg.get("baselines", True):  # scikit-learn models on the same split: is a network needed at all?
        metrics |= report_baselines(trainer, data, metrics)
    metrics |= ensemble_metrics(cfg, trainer, data, run_dir)  # best single vs top-k ensembles, on test
    finish(trainer, run_dir, metrics)
    return metrics[cfg.optimized_metric]


def build_data_and_module(cfg: DictConfig) -> tuple[L.LightningDataModule, Classifier]:
    """The datamodule (tensors in memory: shapes and classes known) and the module built for it."""
    data = instantiate(cfg.data)
    module = Classifier(
        model=plain(cfg.model),
        optimizer=plain(cfg.optimizer),
        scheduler=plain(cfg.scheduler),
        regularization=plain(cfg.regularization),
        augmentation=plain(cfg.augmentation),
        in_shape=data.in_shape,
        num_classes=data.num_classes,
    )
    return data, module


def plain(node) -> dict | None:
    """Config node -> plain dict: what checkpoints store (loadable with weights_only=True)."""
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


def finish(trainer, run_dir: Path, metrics: dict, headline: str | None = None) -> None:
    """Write metrics.json and print the results and where they are (on the main process only)."""
    for logger in trainer.loggers:  # flush what was logged after trainer.test/validate (baselines, ensembles)
        logger.finalize("success")
    if not trainer.is_global_zero:
        return
    metrics = {key: float(value) for key, value in sorted(metrics.items())}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for key, value in metrics.items():
        print(f"{key:>24s}  {value:.4f}")
    if headline:
        print(headline)
    print(f"run directory: {run_dir}")
