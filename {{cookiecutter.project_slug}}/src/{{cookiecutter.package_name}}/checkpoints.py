"""Read checkpoints safely, or fail with one clear paragraph.

`torch.load` unpickles: a checkpoint from someone else can run any code on your machine
when loaded with `weights_only=False`. We always load with `weights_only=True` (tensors
and plain containers only); that is why hyperparameters are saved as plain dicts.
"""

from pathlib import Path

import torch


class CheckpointError(RuntimeError):
    """A checkpoint that is missing or cannot be read; the message says which and what to do."""


def read_checkpoint(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"No checkpoint at {path}. Give a .ckpt file written by train.py (in <run dir>/checkpoints/), "
            "a run directory, or a multirun directory."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, corrupted, or holding objects that are unsafe to load
        raise CheckpointError(
            f"Cannot read the checkpoint {path} ({path.stat().st_size} bytes): "
            f"{type(error).__name__}: {str(error).split('. ')[0][:200]}. The file is truncated or corrupted "
            "(e.g. the run was killed while writing it), or it holds pickled objects that are unsafe to load "
            "(we load with weights_only=True). Use another checkpoint of the run (last.ckpt or a top-k one)."
        ) from None
    missing = [key for key in ("state_dict", "hyper_parameters") if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"The file {path} is not a checkpoint of this project: it has no {' and no '.join(missing)}."
        )
    return checkpoint


def load_classifier(path):
    """Checkpoint -> the Classifier in eval mode, rebuilt from the plain hyperparameters it holds."""
    from .module import Classifier

    checkpoint = read_checkpoint(path)
    module = Classifier(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def rank_key(checkpoint: dict) -> float:
    """Lower is better: the monitored value (val/loss by default) when the checkpoint was saved.

    Read from the ModelCheckpoint state inside the checkpoint (its key names the mode);
    inf when the checkpoint was not ranked (last.ckpt, snapshots).
    """
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("ModelCheckpoint") and state.get("current_score") is not None:
            score = float(state["current_score"])
            return -score if "'mode': 'max'" in key else score
    return float("inf")
