"""Read checkpoints safely, or fail with one clear paragraph.

`torch.load` unpickles: a checkpoint from someone else can run any code on your machine
when loaded with `weights_only=False`. We always load with `weights_only=True` (tensors
and plain containers only); that is why hyperparameters are saved as plain dicts.
"""

import sys
from pathlib import Path

import torch

from .checkpoint_error import CheckpointError


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


def readable_checkpoints(paths) -> tuple[list[tuple[Path, dict]], list[Path]]:
    """([(path, checkpoint), ...] of the files that load with weights_only=True, [the others])."""
    readable, unreadable = [], []
    for path in paths:
        try:
            readable.append((path, read_checkpoint(path)))
        except CheckpointError:
            unreadable.append(path)
    return readable, unreadable


def newest_checkpoint(folder) -> tuple[Path, dict]:
    """(path, checkpoint) to resume from: the readable checkpoint with the most training steps.

    Not blindly `last.ckpt`: it may be truncated (killed while writing, disk full) or stale
    (a run folder moved before Lightning learned to follow it). Every `*.ckpt` in the folder
    is read (weights_only=True); unreadable ones are skipped and named; last.ckpt wins a tie.
    `last_finite.ckpt` (the weights before a non-finite loss) is never resumed from.
    """
    folder = Path(folder)
    readable, skipped = readable_checkpoints(p for p in sorted(folder.glob("*.ckpt")) if p.stem != "last_finite")
    newest = max(readable, default=None, key=lambda item: (item[1]["global_step"], item[1]["epoch"],
                                                           item[0].name == "last.ckpt"))
    if skipped:
        instead = f"resuming from {newest[0].name}, the newest readable one" if newest else "no other is readable"
        print(f"note: cannot read {', '.join(p.name for p in skipped)} in {folder} (truncated or corrupted): "
              f"{instead}.", file=sys.stderr)
    if newest is None:
        unreadable = f" ({', '.join(p.name for p in skipped)}: truncated or corrupted)" if skipped else ""
        raise CheckpointError(
            f"No readable checkpoint in {folder}{unreadable}. The run stopped before the end of its first epoch "
            "(checkpoints are written at the end of every epoch), so there is nothing to resume: start it again. "
            "Nothing was trained."
        )
    return newest


def read_finite_checkpoint(path) -> dict:
    """read_checkpoint, refusing a checkpoint whose weights or buffers hold NaN or inf."""
    checkpoint = read_checkpoint(path)
    check_finite(checkpoint, path)
    return checkpoint


def check_finite(checkpoint: dict, path) -> None:
    bad = non_finite_tensors(checkpoint["state_dict"])
    if bad:
        raise CheckpointError(
            f"The checkpoint {path} holds NaN or inf in {len(bad)} of its {len(checkpoint['state_dict'])} "
            f"tensors (first: {bad[0]}): it was saved after training diverged and any score of it would be "
            "meaningless, so it is not used. Use an earlier checkpoint of the run, or give eval.py the run "
            "folder (it skips such checkpoints)."
        )


def load_classifier(path, hyper_parameters: dict | None = None, checkpoint: dict | None = None):
    """Checkpoint -> the Classifier in eval mode, with its weights.

    Built from `hyper_parameters` when given (the config of the run being trained: yours),
    else from those the checkpoint holds, after checking their targets (runs/allowlist.py).
    `checkpoint`: the file's contents when the caller has already read it (read_checkpoint).
    """
    from ..core.module import Classifier
    from .allowlist import check_targets

    checkpoint = checkpoint if checkpoint is not None else read_checkpoint(path)
    if hyper_parameters is None:
        check_targets(checkpoint["hyper_parameters"], path)  # before anything is built
        hyper_parameters = checkpoint["hyper_parameters"]
    check_finite(checkpoint, path)
    module = Classifier(**hyper_parameters)
    module.load_state_dict(checkpoint["state_dict"])
    return module.eval()


def non_finite_tensors(state_dict: dict) -> list[str]:
    """Names of the floating-point tensors (weights and buffers) holding NaN or inf."""
    return [name for name, tensor in state_dict.items()
            if torch.is_tensor(tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all()]


def usable_checkpoint(path) -> dict | None:
    """The checkpoint, or None with a one-line warning when it is unreadable or non-finite.

    Readers of a whole folder (the ensembles, eval.py on a run) skip such a file instead of
    failing: a full disk or a crash must not cost the other checkpoints' results.
    """
    try:
        return read_finite_checkpoint(path)
    except CheckpointError as error:
        print(f"warning: skipped a checkpoint: {str(error).split('. ')[0]}.", file=sys.stderr, flush=True)
        return None


def newest_finite_checkpoint(folder) -> Path | None:
    """The readable checkpoint with all-finite weights and the most training steps under `folder`."""
    # a symlinked last.ckpt points at a checkpoint that is listed under its own name
    readable, _ = readable_checkpoints(p for p in Path(folder).rglob("*.ckpt") if not p.is_symlink())
    finite = [(checkpoint.get("global_step", 0), path.stat().st_mtime, path)
              for path, checkpoint in readable if not non_finite_tensors(checkpoint["state_dict"])]
    return max(finite)[2] if finite else None


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


def ranked_checkpoints(run_dir, k: int, snapshots: bool = False) -> list[Path]:
    """The run's top-k checkpoints, best first (or its snapshots, in order of time): what predict.py,
    the ensembles and a warm start read.

    Unreadable or non-finite checkpoints are skipped with a warning (usable_checkpoint).
    """
    folder = Path(run_dir) / "checkpoints"
    if snapshots:
        paths = sorted((folder / "snapshots").glob("*.ckpt"))
        return [p for p in paths if usable_checkpoint(p) is not None][-k:][::-1]  # the final one is "single"
    paths = [p for p in folder.glob("*.ckpt") if p.stem not in ("last", "last_finite")]
    ranked = [(rank_key(checkpoint), p) for p in paths if (checkpoint := usable_checkpoint(p)) is not None]
    return [p for _, p in sorted(ranked)][:k]
