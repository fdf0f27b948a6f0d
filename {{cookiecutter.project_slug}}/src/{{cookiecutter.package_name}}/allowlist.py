"""What a checkpoint or a run's saved config may build: a short list, checked before anything is built.

`torch.load(..., weights_only=True)` keeps a checkpoint from running code while it is
unpickled, but its hyperparameters (and a run's `.hydra/config.yaml`) name classes in
`_target_` keys that Hydra's `instantiate` imports and calls. A crafted file naming
`pathlib.Path.write_text` or `os.system` there would run it. So every `_target_` read from
disk, at any depth, must be one of:
  - a class or function DEFINED in this package (`{{cookiecutter.package_name}}.models.ResNet`;
    not a name it merely imports, like `{{cookiecutter.package_name}}.checkpoints.Path`), or
  - one of the library classes below, the ones the shipped configs use.
Our own code: Hydra has no allowlist for `instantiate`.

To allow another library class, add its full name to LIBRARY_TARGETS, one line:
    "torch.optim.RAdam",
Classes you write inside this package need nothing.
"""

import importlib
import sys
from pathlib import Path

from .checkpoints import CheckpointError

PACKAGE = "{{cookiecutter.package_name}}"

LIBRARY_TARGETS = (
    "lightning.Trainer",
    "lightning.pytorch.callbacks.ModelCheckpoint",
    "lightning.pytorch.callbacks.EarlyStopping",
    "lightning.pytorch.callbacks.RichProgressBar",
    "lightning.pytorch.callbacks.RichModelSummary",
    "lightning.pytorch.callbacks.EMAWeightAveraging",
    "lightning.pytorch.loggers.TensorBoardLogger",
    "lightning.pytorch.loggers.CSVLogger",
    "torch.optim.Adam",
    "torch.optim.AdamW",
    "torch.optim.SGD",
    "torchmetrics.classification.MulticlassF1Score",
    "kornia.augmentation.RandomRotation",
    "kornia.augmentation.RandomAffine",
    "kornia.augmentation.RandomHorizontalFlip",
    "kornia.augmentation.ColorJitter",
    "optuna.pruners.MedianPruner",  # configs/sweep/: the pruner is in a job's config, the samplers in hydra.sweeper
    "optuna.samplers.RandomSampler",
    "optuna.samplers.QMCSampler",
    "optuna.samplers.TPESampler",
)


def check_targets(config, source, where: str = "") -> None:
    """Raise CheckpointError, before anything is built, if `config` names a target not allowed above.

    `config`: a dict or OmegaConf node read from `source` (a file path, named in the message),
    found at key `where` of that file.
    """
    unlisted = unlisted_targets(config, where)
    if unlisted:
        where, target = unlisted[0]
        raise CheckpointError(
            f"{source} names `_target_: {target!r}` (at {where}), which this project does not build from a "
            f"file: loading a checkpoint or a run's config builds only classes and functions defined in "
            f"{PACKAGE} and the library classes in LIBRARY_TARGETS of {Path(__file__)}. Nothing was built. "
            "If you trust this file and the target is a library class you use, add its full name to "
            "LIBRARY_TARGETS there (one line)."
            + (f" Also not allowed: {', '.join(repr(t) for _, t in unlisted[1:])}." if len(unlisted) > 1 else "")
        )


def warn_unlisted_targets(config) -> None:
    """train.py: say at once what `resume=` and eval.py will refuse to build from this run's files."""
    unlisted = unlisted_targets(config)
    if unlisted:
        names = ", ".join(f"{where}={target!r}" for where, target in unlisted)
        print(f"note: {names} not in {Path(__file__)}: this run trains, but `resume=` and eval.py will refuse "
              "to build it from its files until you add it to LIBRARY_TARGETS there.", file=sys.stderr)


def unlisted_targets(config, where: str = "") -> list[tuple[str, object]]:
    """(key path, target) of every `_target_` in `config`, at any depth, that is not allowed."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(config):  # unresolved: an interpolated `${...}` target is not a name, refused
        config = OmegaConf.to_container(config, resolve=False)
    found = []
    if isinstance(config, dict):
        for key, value in config.items():
            path = f"{where}.{key}" if where else str(key)
            if key == "_target_" and not allowed(value):
                found.append((path, value))
            elif key != "_target_":
                found += unlisted_targets(value, path)
    elif isinstance(config, (list, tuple)):
        for index, value in enumerate(config):
            found += unlisted_targets(value, f"{where}[{index}]")
    return found


def allowed(target) -> bool:
    if not isinstance(target, str):
        return False
    if target in LIBRARY_TARGETS:
        return True
    if not target.startswith(PACKAGE + "."):
        return False
    # Our own package: import the module (our code) and require the name to be defined there.
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except (ImportError, ValueError):
        return False
    found = getattr(module, name, None)
    return getattr(found, "__module__", None) == module_name and getattr(found, "__qualname__", None) == name


def recorded_config(run_dir, missing: str, error: type[Exception] = CheckpointError, key: str = ""):
    """A run's own `.hydra/config.yaml` (or its node `key`), read as untrusted: every `_target_` in it
    checked against the allowlist before the caller builds anything from it (resume=, reproduce=, eval.py).

    `missing`: the message when the file does not exist; `{config}` in it is replaced by the file's path.
    """
    from omegaconf import OmegaConf

    from .run_files import read_run_file

    config_path = Path(run_dir) / ".hydra" / "config.yaml"
    if not config_path.is_file():
        raise error(missing.format(config=config_path))
    config = read_run_file(config_path, (
        "It is the run's config, written when the run started, and cannot be recomputed: restore it (from a copy "
        "of the run folder), or train a new run with the same overrides (listed in .hydra/overrides.yaml beside it)."
        ), error)
    config = OmegaConf.select(config, key) if key else config
    check_targets(config, config_path, key)
    return config
