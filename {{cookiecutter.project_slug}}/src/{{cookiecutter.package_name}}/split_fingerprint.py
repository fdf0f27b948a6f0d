"""Which examples a run was trained, validated and tested on: `<run dir>/split.json`.

eval.py combines or compares runs only when they were tested on the same examples: the
jobs of a sweep over `data.split_seed` were not (job 1 would be scored on images job 0
trained on). One sha256 per split, of the (x, y) pairs read through the datamodule's
loaders, so any datamodule gets it; sorted per example, so a shuffling loader gives the
same fingerprint. Our own code: no library fingerprints a datamodule.
"""

import hashlib
import json
from pathlib import Path

import torch

from .atomic_write import write_atomically
from .baselines import split_tensors
from .checkpoints import CheckpointError

SPLITS = ("train", "val", "test")


def split_fingerprint(data) -> dict:
    """{"train": sha256, "val": ..., "test": ...}; None for a split the datamodule does not have."""
    fingerprint = {}
    with torch.random.fork_rng():  # building a loader may draw from the run's RNG: leave it untouched
        for name in SPLITS:
            try:
                loader = getattr(data, f"{name}_dataloader")()
            except Exception:  # Lightning raises when a datamodule does not implement this loader
                fingerprint[name] = None
                continue
            fingerprint[name] = examples_fingerprint(*split_tensors(loader))
    return fingerprint


def examples_fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    x, y = x.reshape(len(x), -1).numpy(), y.reshape(len(y), -1).numpy()
    rows = sorted(hashlib.sha256(x[i].tobytes() + y[i].tobytes()).digest() for i in range(len(x)))
    return hashlib.sha256(f"{x.dtype} {y.dtype} {x.shape[1]}".encode() + b"".join(rows)).hexdigest()


def write_split_fingerprint(run_dir: Path, data) -> None:
    write_atomically(Path(run_dir) / "split.json", (json.dumps(split_fingerprint(data), indent=2) + "\n").encode())


def recorded_split(run_dir: Path) -> dict:
    """The fingerprint the run wrote when it was trained ({} for runs older than split.json)."""
    path = Path(run_dir) / "split.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def check_same_test_set(test_sets: dict) -> None:
    """{run folder: test fingerprint} -> CheckpointError naming which runs have which test set."""
    groups = {}
    for run, fingerprint in test_sets.items():
        groups.setdefault(fingerprint, []).append(run)
    if len(groups) <= 1:
        return
    overrides = {run: run_overrides(run) for run in test_sets}
    shared = set.intersection(*map(set, overrides.values()))
    listing = "; ".join(
        f"test set {str(fingerprint)[:8]}: "
        + ", ".join(f"{Path(run).name} ({' '.join(o for o in overrides[run] if o not in shared) or 'no overrides'})"
                    for run in runs)
        for fingerprint, runs in groups.items()
    )
    raise CheckpointError(
        f"The runs in {Path(next(iter(test_sets))).parent} were not tested on the same examples, so their scores "
        f"cannot be combined or compared ({listing}). Their data splits differ (e.g. data.split_seed or "
        "data.test_fraction): evaluate each run folder on its own, `python eval.py <run folder>`."
    )


def run_overrides(run: Path) -> list[str]:
    """The command-line overrides of a run (Hydra's `.hydra/overrides.yaml`), e.g. ["data.split_seed=1"]."""
    path = Path(run) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.load(path)]
