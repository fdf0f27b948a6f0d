"""Pseudo-labels (semi-supervised): train, let the model label the examples it is sure of, train again.

`data.unlabeled_fraction=f` hides the labels of that fraction of the training split: core/data.py
keeps those examples as the split "unlabeled", whose true labels serve only to count how
many pseudo-labels are right. `data.unlabeled_path=<file or folder>` reads a real pool of
inputs without labels instead (then nothing is counted). With `pseudo_label.rounds=R`, after the usual run (round 0:
the labelled examples only) each round r = 1..R
  1. predicts every unlabelled example with the previous round's weights (those behind its
     test/acc: the best checkpoint),
  2. keeps the examples whose top softmax probability is >= `pseudo_label.threshold`, with
     the predicted class as their label (listed in <run dir>/round_<r>/pseudo_labels.json),
  3. trains a fresh model (same config, same seed) on the labelled examples plus these, in
     <run dir>/round_<r>/: its own checkpoints/, TensorBoard events and metrics.json.
Every round labels the whole unlabelled pool again (a better model may revise a label); the
pseudo-labels of earlier rounds are not kept. The run's metrics.json gets, per round,
pseudo/round_<r>/{test_acc, val_acc, added, correct, correct_fraction}; its test/..., val/...,
ensemble/... are the last round's; baseline/... stay those of the labelled examples.
Resume (`resume=<run dir>`): a round continues from its newest checkpoint (a finished round
trains no further) if its pseudo-labels come out the same as before; otherwise it starts afresh.

Our own code: Lightning has no self-training loop; this is a few lines around its Trainer.
"""

import copy
import json
import shutil
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, open_dict
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from ..core.module import build_module
from ..core.stopping import why_training_stopped
from ..core.training import build_trainer, evaluate_best
from ..runs.atomic_write import write_atomically
from ..runs.checkpoints import CheckpointError, newest_checkpoint
from ..runs.predict import model_outputs
from ..runs.run_status import strict_json


def pseudo_label_rounds(cfg: DictConfig, data, module, run_dir: Path, metrics: dict) -> dict:
    """The run's metrics with the rounds' results (unchanged when `pseudo_label.rounds` is 0).

    `module` holds the weights of round 0's test/acc; `metrics` are round 0's.
    """
    rounds = (cfg.get("pseudo_label") or {}).get("rounds") or 0
    if not rounds:
        return metrics
    threshold = cfg.pseudo_label.threshold
    labelled = data.indices["train"], (data.splits or data.datasets)["train"]  # what every round starts from
    results = {"pseudo/unlabeled": len(data.indices["unlabeled"]), **round_results(0, metrics)}
    predicted_by = weights_source(module, run_dir)
    for r in range(1, rounds + 1):
        round_dir = Path(run_dir) / f"round_{r}"
        confidence, predicted, truth = predict_unlabeled(module, data)
        chosen = torch.nonzero(confidence >= threshold).flatten()
        # data.unlabeled_path: true labels unknown (-1); data.unlabeled_fraction: hidden, kept to count
        correct = int((predicted[chosen] == truth[chosen]).sum()) if bool((truth >= 0).all()) else None
        record = {"round": r, "threshold": threshold, "predicted_by": predicted_by,
                  "unlabeled": len(truth), "added": len(chosen), "correct": correct,
                  "positions": data.indices["unlabeled"][chosen].tolist(),  # in load()'s order (data.indices)
                  "labels": predicted[chosen].tolist(), "confidences": confidence[chosen].tolist()}
        train_on(data, labelled, chosen, predicted[chosen])
        resume_from, step = checkpoint_to_continue(cfg, round_dir, record)
        if rank_zero_only.rank == 0:
            round_dir.mkdir(parents=True, exist_ok=True)
            write_atomically(round_dir / "pseudo_labels.json", (json.dumps(record) + "\n").encode())
        module, round_metrics = train_round(round_config(cfg, round_dir, step), data, round_dir, resume_from)
        results |= round_results(r, round_metrics) | {f"pseudo/round_{r}/added": len(chosen)}
        if correct is not None:
            results |= {f"pseudo/round_{r}/correct": correct,
                        f"pseudo/round_{r}/correct_fraction": correct / len(chosen) if len(chosen) else float("nan")}
        right = "their true labels unknown" if correct is None else f"{correct} of them right"
        print(f"pseudo-labels, round {r}: {len(chosen)} of {len(truth)} unlabelled examples added (confidence >= "
              f"{threshold}), {right}; test/acc {round_metrics.get('test/acc', float('nan')):.4f} "
              f"(round 0: {metrics.get('test/acc', float('nan')):.4f}); {round_dir}")
        if len(chosen) == 0:
            print(f"note: no prediction reached pseudo_label.threshold={threshold}: round {r} trained on the "
                  "labelled examples only. A lower threshold adds some (and more wrong ones).")
        predicted_by = weights_source(module, run_dir)
    last = {key: value for key, value in round_metrics.items() if not key.startswith("baseline/")}
    return metrics | last | results


def round_results(r: int, metrics: dict) -> dict:
    return {f"pseudo/round_{r}/{split}_acc": metrics[f"{split}/acc"] for split in ("test", "val")
            if f"{split}/acc" in metrics}


def weights_source(module, run_dir: Path) -> str:
    """Which weights predict the next round's labels, for pseudo_labels.json: the best checkpoint's."""
    callback = module.trainer.checkpoint_callback
    if callback is None or not callback.best_model_path:
        return "the final weights (no checkpoint)"
    return str(Path(callback.best_model_path).resolve().relative_to(Path(run_dir).resolve()))


@torch.no_grad()
def predict_unlabeled(module, data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(top softmax probability, predicted class, true class) of every unlabelled example, in split order."""
    module.eval()
    if data.splits is not None:
        batches = [data.splits["unlabeled"]]
    else:  # data not in memory: read in batches, keep only the predictions
        batches = DataLoader(data.datasets["unlabeled"], batch_size=512, num_workers=data.num_workers)
    confidences, predictions, truths = [], [], []
    for x, y in batches:
        confidence, predicted = model_outputs(module, x.to(module.device), module.task).cpu().max(1)
        confidences.append(confidence)
        predictions.append(predicted)
        truths.append(y)
    return torch.cat(confidences), torch.cat(predictions), torch.cat(truths)


class Relabelled(Dataset):
    """Items `positions` of a Dataset of (x, y) pairs, with other labels: the pseudo-labels (`in_memory: false`)."""

    def __init__(self, dataset: Dataset, positions: torch.Tensor, labels: torch.Tensor):
        self.dataset, self.positions, self.labels = dataset, positions.tolist(), labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.dataset[self.positions[i]][0], self.labels[i]


def train_on(data, labelled: tuple, chosen: torch.Tensor, labels: torch.Tensor) -> None:
    """The training split becomes the labelled examples plus the chosen unlabelled ones with their pseudo-labels."""
    indices, examples = labelled
    data.indices["train"] = torch.cat([indices, data.indices["unlabeled"][chosen]])
    if data.splits is not None:
        x, y = examples
        data.splits["train"] = torch.cat([x, data.splits["unlabeled"][0][chosen]]), torch.cat([y, labels])
    else:
        data.datasets["train"] = ConcatDataset([examples, Relabelled(data.datasets["unlabeled"], chosen, labels)])


def checkpoint_to_continue(cfg: DictConfig, round_dir: Path, record: dict) -> tuple[str | None, int | None]:
    """resume=: (the round's newest checkpoint, its step), if the round was trained on these very pseudo-labels.

    Otherwise (a new run, a round that never saved a checkpoint, or a round 0 that has since
    changed, e.g. trained longer) the round starts afresh and its old folder is removed.
    """
    saved = round_dir / "pseudo_labels.json"
    if cfg.get("resume") and saved.is_file():
        before = json.loads(saved.read_text())
        if (before["positions"], before["labels"]) == (record["positions"], record["labels"]):
            try:
                path, checkpoint = newest_checkpoint(round_dir / "checkpoints")
                print(f"resuming {round_dir.name} from epoch {checkpoint['epoch']}, step {checkpoint['global_step']}")
                return str(path), checkpoint["global_step"]
            except CheckpointError:
                pass  # stopped before its first checkpoint: nothing to continue
        else:
            print(f"note: {round_dir.name} was trained on other pseudo-labels (the round before it has changed "
                  "since): it is trained again from scratch.")
    if round_dir.exists() and rank_zero_only.rank == 0:
        shutil.rmtree(round_dir)
    return None, None


def round_config(cfg: DictConfig, round_dir: Path, resumed_step: int | None) -> DictConfig:
    """The run's config with `paths.run_dir` = the round's folder: checkpoints, events and logs go there."""
    config = copy.deepcopy(cfg)
    with open_dict(config):
        config.paths.run_dir = str(round_dir)
        for logger in (config.get("logger") or {}).values():
            if logger and str(logger.get("_target_", "")).endswith("TensorBoardLogger"):
                # a resumed round: TensorBoard hides its own stopped events from the checkpoint's step on
                logger.purge_step = resumed_step
    return config


def train_round(cfg: DictConfig, data, round_dir: Path, resume_from: str | None) -> tuple:
    """One fresh fit on the current training split: (the module with the weights of its test/acc, its metrics).

    The callbacks, loggers and trainer are built as in run.py; a round has no baselines (the
    labelled examples' are in the run's metrics) and no overfitting check.
    """
    L.seed_everything(cfg.seed, workers=True, verbose=False)  # every round starts alike, resumed or not
    module = build_module(cfg, data)
    trainer = build_trainer(cfg, round_dir)  # as in run.py (core/training.py)
    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)
    stopped = why_training_stopped(trainer)  # fails (RunFailed) on NaN/inf, as in run.py
    metrics = evaluate_best(trainer, module, data)
    for logger in trainer.loggers:
        logger.finalize("success")
    if trainer.is_global_zero:
        print(f"{round_dir.name}: {stopped}")
        plain = {key: float(value) for key, value in metrics.items()}
        write_atomically(round_dir / "metrics.json", strict_json(plain).encode())  # NaN -> null (runs/run_status.py)
    return module, metrics

