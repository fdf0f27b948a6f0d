"""Which examples a run was trained, validated and tested on: `<run dir>/split.json`.

eval.py combines or compares runs only when they were tested on the same examples: the
jobs of a sweep over `data.split_seed` were not (job 1 would be scored on images job 0
trained on). One sha256 per split, computed by the data contract (`SplitData.fingerprint` in core/data.py).
"""

import json
from pathlib import Path

from .atomic_write import write_atomically
from .checkpoints import CheckpointError
from .printed_command import printed_command
from .run_files import read_run_file


def write_split_fingerprint(run_dir: Path, data) -> None:
    """split.json: the datamodule's `fingerprint()` (core/data.py), one sha256 per split."""
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
        f"data.test_fraction): evaluate each run folder on its own, e.g. `{printed_command('eval.py', next(iter(test_sets)))}`."
    )


def run_overrides(run: Path) -> list[str]:
    """The command-line overrides of a run (Hydra's `.hydra/overrides.yaml`), e.g. ["data.split_seed=1"]."""
    path = Path(run) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    from omegaconf import OmegaConf

    return [str(o) for o in OmegaConf.load(path)]


SMALL_SPLIT = 30  # fewer examples than this: one example moves accuracy by more than 3 points


def small_split_note(data) -> str | None:
    """One note when the validation or test split is too small for its figures to mean much, and how to
    get a bigger one (or None). Fractions of the examples, unless the data brings its own split."""
    sizes = {name: len(data.indices[name]) for name in ("val", "test") if name in data.indices}
    small = {name: size for name, size in sizes.items() if 0 < size < SMALL_SPLIT}
    if not small:
        return None
    named = " and ".join(f"the {'validation' if name == 'val' else 'test'} split {size}" for name, size in small.items())
    total = sum(len(index) for index in data.indices.values())
    return (f"note: {named} examples: one example moves their accuracy by {100 / min(small.values()):.0f} points, so "
            f"val/ and test/ figures are noisy (a difference between runs may be luck). For a bigger split: "
            f"data.val_fraction=0.2 data.test_fraction=0.3 (of {total} examples), or more data; if the data brings "
            "its own split, put more examples in it.")
