"""What a checkpoint or a run's saved files may build: a list of names, checked before anything is built.

`torch.load(..., weights_only=True)` keeps a checkpoint from running code while it is
unpickled, but its hyperparameters (and a run's `.hydra/config.yaml`, a ladder's
`stages.json`, a sweep's `.hydra/overrides.yaml`) name classes in `_target_` keys that
Hydra's `instantiate` imports and calls. A crafted file naming `os.system`, `shutil.copyfile`
or one of our own helpers that writes a file would run it. So every `_target_` read from
disk, at any depth, must be named below in full: PROJECT_TARGETS (what this project's configs
build) or USER_TARGETS (yours). Nothing is allowed for being "defined in this package".
Our own code: Hydra has no allowlist for `instantiate`.

To let eval.py, predict.py, resume= and reproduce= build your own class (a model, a
datamodule, a callback) or another library class, add its full name to USER_TARGETS, one line:
    "my_models.TinyNet",
    "torch.optim.RAdam",
"""

import re
import sys
from pathlib import Path

from .checkpoint_error import CheckpointError

USER_TARGETS = (  # your own classes (a model, a datamodule, a callback) and other library classes, by full name
    # "my_models.TinyNet",
)

PROJECT_TARGETS = (
    # model families (configs/model/)
    "{{cookiecutter.package_name}}.core.models.MLP",
    "{{cookiecutter.package_name}}.core.models.ResNet",
    # datamodules (configs/data/)
    "{{cookiecutter.package_name}}.core.data.DigitsData",
    "{{cookiecutter.package_name}}.core.data_npz.NpzData",
    "{{cookiecutter.package_name}}.core.data_csv.CsvData",
    "{{cookiecutter.package_name}}.core.data_images.ImageFolderData",
    # optimizers (configs/optimizer/) and learning-rate schedules (configs/scheduler/)
    "torch.optim.Adam",
    "torch.optim.AdamW",
    "torch.optim.SGD",
    "{{cookiecutter.package_name}}.core.schedules.warmup_cosine",
    "{{cookiecutter.package_name}}.core.schedules.step",
    "{{cookiecutter.package_name}}.core.schedules.exponential",
    "{{cookiecutter.package_name}}.core.schedules.onecycle",
    "{{cookiecutter.package_name}}.core.schedules.warm_restarts",
    # augmentation (configs/augmentation/)
    "{{cookiecutter.package_name}}.core.augment.batch_augmentation",
    "kornia.augmentation.RandomRotation",
    "kornia.augmentation.RandomAffine",
    "kornia.augmentation.RandomHorizontalFlip",
    "kornia.augmentation.ColorJitter",
    # trainer and loggers (configs/trainer/, configs/logger/)
    "lightning.Trainer",
    "lightning.pytorch.loggers.TensorBoardLogger",
    "lightning.pytorch.loggers.CSVLogger",
    # callbacks (configs/callbacks/ and the groups of the feature rooms) and those a run adds itself
    "{{cookiecutter.package_name}}.core.model_checkpoint.ModelCheckpoint",
{%- if cookiecutter.__with_diagnostics == "yes" %}
    "{{cookiecutter.package_name}}.diagnostics.diagnostics.Diagnostics",
    "{{cookiecutter.package_name}}.diagnostics.evaluation_metrics.EvaluationMetrics",
    "{{cookiecutter.package_name}}.diagnostics.slice_accuracy.SliceAccuracy",
    "{{cookiecutter.package_name}}.diagnostics.slice_accuracy.by_ink",
    "{{cookiecutter.package_name}}.diagnostics.worst_mistakes.WorstMistakes",
    "{{cookiecutter.package_name}}.diagnostics.fit_diagnosis.FitDiagnosis",
{%- endif %}
    "{{cookiecutter.package_name}}.core.stop_on_non_finite_loss.StopOnNonFiniteLoss",
    "{{cookiecutter.package_name}}.core.exact_resume.ExactResume",
{%- if cookiecutter.__with_diagnostics == "yes" %}
    "{{cookiecutter.package_name}}.diagnostics.learning_curve.LearningCurve",
{%- endif %}
    "{{cookiecutter.package_name}}.core.progress_bar.ProgressBar",
{%- if cookiecutter.__with_curriculum == "yes" %}
    "{{cookiecutter.package_name}}.curriculum.pacing.Curriculum",
{%- endif %}
{%- if cookiecutter.__with_sweeps == "yes" %}
    "{{cookiecutter.package_name}}.sweeps.optuna_pruning.OptunaPruning",
{%- endif %}
{%- if cookiecutter.__with_stages == "yes" %}
    "{{cookiecutter.package_name}}.stages.stage_gate.StageGate",
    "{{cookiecutter.package_name}}.stages.warm_start.WarmStart",
{%- endif %}
    "{{cookiecutter.package_name}}.core.overfit_verdict.OverfitVerdict",
{%- if cookiecutter.__with_ensembles == "yes" %}
    "{{cookiecutter.package_name}}.ensembles.ensemble.CheckpointEnsemble",
    "{{cookiecutter.package_name}}.ensembles.averaged_weights.AveragedWeights",
{%- endif %}
{%- if cookiecutter.__with_sweeps == "yes" %}
    "{{cookiecutter.package_name}}.sweeps.summary.SweepSummary",
{%- endif %}
    "lightning.pytorch.callbacks.ModelCheckpoint",
    "lightning.pytorch.callbacks.EarlyStopping",
    "lightning.pytorch.callbacks.RichProgressBar",
    "lightning.pytorch.callbacks.RichModelSummary",
    "lightning.pytorch.callbacks.EMAWeightAveraging",
    "torchmetrics.classification.MulticlassF1Score",
{%- if cookiecutter.__with_sweeps == "yes" %}
    # sweeps (configs/sweep/): the pruner is in a job's config, the samplers in hydra.sweeper
    "optuna.pruners.MedianPruner",
    "optuna.samplers.RandomSampler",
    "optuna.samplers.QMCSampler",
    "optuna.samplers.TPESampler",
{%- endif %}
)


# `${...}` a file may hold: a reference to another key, or these resolvers (what Hydra writes into a run's
# config). Others build objects from text after the check (`oc.create`, `oc.decode`) or make folders.
SAFE_INTERPOLATION = re.compile(r"\$\{(?:hydra:|now:|oc\.env:|[\w.\[\]-]*\})")


def check_targets(config, source, where: str = "") -> None:
    """Raise CheckpointError, before anything is built, if `config` names a target not allowed above.

    `config`: a dict or OmegaConf node read from `source` (a file path, named in the message),
    found at key `where` of that file.
    """
    refuse(unlisted_targets(config, where), source)


def refuse(unlisted: list[tuple[str, object]], source) -> None:
    """The one error for (key path, target) pairs read from `source` that are not allowed; nothing if none."""
    if unlisted:
        where, target = unlisted[0]
        also = f" Also not allowed: {', '.join(repr(t) for _, t in unlisted[1:])}." if len(unlisted) > 1 else ""
        if not where.endswith("_target_"):
            raise CheckpointError(
                f"{source} holds the interpolation {target!r} (at {where}): a value read from a file may refer "
                "to other keys (`${paths.run_dir}`) and use ${hydra:...}, ${now:...} and ${oc.env:...} only; other "
                f"resolvers build objects from text after the check or make folders. Nothing was built.{also}")
        raise CheckpointError(
            f"{source} names `_target_: {target!r}` (at {where}), which this project does not build from a "
            f"file: loading a checkpoint, a run's config, a ladder or a sweep builds only the classes named "
            f"in PROJECT_TARGETS and USER_TARGETS of {Path(__file__)}. Nothing was built. If you trust this "
            "file and the target is your own class (or a library class you use), add its full name to "
            f"USER_TARGETS there (one line).{also}")


def check_overrides(overrides, source, hydra_keys: tuple[str, ...] = ()) -> None:
    """Raise CheckpointError, before anything is composed, if Hydra overrides read from `source` (a ladder's
    stages.json, a sweep job's .hydra/overrides.yaml) could build something not allowed above.

    Each is parsed with Hydra's own override parser: a `_target_` it sets (as the key, or inside a
    `{...}` value) must be allowed, a group option may not climb out of configs/ (`data=../../x`),
    and it may not set Hydra's own settings (`hydra.callbacks`, `hydra.job.env_set`, a launcher,
    ...) except the keys in `hydra_keys`.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if not isinstance(overrides, (list, tuple)) or not all(isinstance(o, str) for o in overrides):
        raise CheckpointError(f"{source} holds {overrides!r} where a list of Hydra overrides belongs (key=value "
                              "strings): it was not written by this project. Nothing was built.")
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as error:
        raise CheckpointError(f"{source} holds an override Hydra cannot parse ({str(error).splitlines()[0]}): it "
                              "was not written by this project. Nothing was built.") from None
    for override in parsed:
        key = override.key_or_group.replace("/", ".")
        if (key == "hydra" or key.startswith("hydra.")) and key not in hydra_keys:
            raise CheckpointError(f"{source} sets `{override.input_line}` (key {key}): a file may not change "
                                  "Hydra's own settings (callbacks, launcher, environment, output folders), which "
                                  "run code or write where the run does not belong. Nothing was built.")
        value = override.value()
        choices = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if "." not in key and any(".." in str(choice) for choice in choices):  # a group option out of configs/
            raise CheckpointError(f"{source} sets `{override.input_line}` (key {key}): a config group option "
                                  "with `..` in it is read from outside the project's configs/. Nothing was built.")
        found = [] if key.split(".")[-1] == "_target_" else unlisted_targets(value, key)
        if key.split(".")[-1] == "_target_" and not allowed(value):
            found.insert(0, (key, value))
        refuse(found, source)


def warn_unlisted_targets(config) -> None:
    """train.py: say at once what `resume=` and eval.py will refuse to build from this run's files."""
    unlisted = unlisted_targets(config)
    if unlisted:
        names = ", ".join(f"{where}={target!r}" for where, target in unlisted)
        print(f"note: {names} not in {Path(__file__)}: this run trains, but `resume=` and eval.py will refuse "
              "to build it from its files until you add it to USER_TARGETS there.", file=sys.stderr)


def unlisted_targets(config, where: str = "") -> list[tuple[str, object]]:
    """(key path, target) of every `_target_` in `config`, at any depth, that is not allowed, and of every
    string holding an interpolation other than a reference or a resolver of SAFE_INTERPOLATION."""
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
    elif isinstance(config, str) and config.count("${") != len(SAFE_INTERPOLATION.findall(config)):
        found.append((where, config))
    return found


def allowed(target) -> bool:
    """Named in full in PROJECT_TARGETS or USER_TARGETS: nothing is imported to decide."""
    return isinstance(target, str) and (target in PROJECT_TARGETS or target in USER_TARGETS)


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
