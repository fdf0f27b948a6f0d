"""Which examples a run was trained, validated and tested on: `<run dir>/split.json`.

eval.py combines or compares runs only when they were tested on the same examples: the
jobs of a sweep over `data.split_seed` were not (job 1 would be scored on images job 0
trained on). One sha256 per split, computed by the data contract (`SplitData.fingerprint` in data.py).
"""

import json
from pathlib import Path

from .atomic_write import write_atomically
from .checkpoints import CheckpointError
from .run_files import read_run_file


def write_split_fingerprint(run_dir: Path, data) -> None:
    """split.json: the datamodule's `fingerprint()` (data.py), one sha256 per split."""
    write_atomically(Path(run_dir) / "split.json", (json.dumps(data.fingerprint(), indent=2) + "\n").encode())


def recorded_split(run_dir: Path) -> dict:
    """The fingerprint the run wrote when it was trained ({} for runs older than split.json)."""
    path = Path(run_dir) / "split.json"
    if not path.is_file():
        return {}
    return read_run_file(path, "It records which examples the run was tested on: restore it, or delete it (eval.py "
                               "then rebuilds the test set from the run's config without checking it against split.json).",
                         CheckpointError)


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
