"""Check the composed config before any work: a bad value fails in seconds, before training.

Two steps. First the values, importing nothing heavy (no torch, no lightning), so a bad
value fails in about a second: YAML takes `lr: "0.1"` or `dropout: 2` without complaint;
these checks name the key, the value and what is allowed. A key that an option does not
have (SGD has no `betas`) is skipped. This file checks the core's groups, one function per
group; each feature room checks its own keys in `<room>/config.py`, and validation.py (the
door the entry scripts call) hands those to `validate` below. Then, once the values are
fine, what needs the libraries: every key of a `_target_` is an argument that target takes
(core/target_arguments.py), and the accelerator and precision work on this machine. Both
steps run before any data is loaded or anything is written.
"""

from collections.abc import Callable

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError

from .config_values import cfg_value, is_number, is_whole
from .logged_metrics import is_under, known_metrics, metric_problems  # noqa: F401 (tests read them here)
from .unknown_keys import unknown_key_problems

# The names core/models.py accepts. Repeated here because this file must not import torch;
# tests/test_knobs.py checks that both lists agree.
ACTIVATIONS = ("relu", "leaky_relu", "gelu")
NORMS = ("batch", "layer", "none")
INITS = ("default", "kaiming", "xavier")
PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64", "32", "16", "bf16", 64, 32, 16)
FP16_MIXED = ("16-mixed", "16", 16)  # on a CPU Lightning silently trains these in bf16-mixed instead
# Lightning's accelerator names (tests/test_validation.py checks them against Lightning's registry).
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and what is allowed. Exit code 2 (runs/failures.py)."""


def validate(cfg: DictConfig, room_problems: Callable[[DictConfig], list[str]]) -> None:
    """Raise ConfigError naming every bad value; then check what needs the libraries (see the top).

    `room_problems(cfg)`: the feature rooms' own checks of their values (validation.py), run with the core's.
    """
    problems = broken_references(cfg)  # the checks below read values: first, every value must resolve
    problems += unknown_key_problems(cfg)  # and every key must be one the project reads (core/unknown_keys.py)
    if not problems:
        problems = value_problems(cfg) + room_problems(cfg)
    if not problems:  # the values are fine: now what needs torch and lightning (a few seconds)
        from .target_arguments import argument_problems

        problems = argument_problems(cfg) + machine_problems(cfg)
    if problems:
        raise ConfigError("Invalid configuration: " + " ".join(problems) + " Nothing was trained.")


class Values:
    """The checks of one config's values; each bad one adds a sentence to `problems` (naming key, value, what is allowed).

    Used by the core's group checks below and by every room's `<room>/config.py`: one wording everywhere.
    """

    def __init__(self, cfg: DictConfig):
        self.cfg, self.problems = cfg, []

    def need(self, ok: bool, key: str, allowed: str) -> None:
        if not ok:
            self.problems.append(f"{key}={cfg_value(self.cfg, key)!r} is not allowed: {allowed}.")

    def number(self, key: str, in_range, allowed: str, whole: bool = False, required: bool = False) -> None:
        value = cfg_value(self.cfg, key)
        if value is None and not required:
            return
        self.need((is_whole(value) if whole else is_number(value)) and in_range(value), key, allowed)

    def choice(self, key: str, options) -> None:
        value = cfg_value(self.cfg, key)
        self.need(value is None or value in options, key, "use one of " + ", ".join(map(str, options)))

    def flag(self, key: str) -> None:
        value = cfg_value(self.cfg, key)
        self.need(value is None or isinstance(value, bool), key, "use true or false")


def value_problems(cfg: DictConfig) -> list[str]:
    """Types and ranges of the core groups' values, without importing torch: one sentence per bad value."""
    return (optimizer_problems(cfg) + regularization_problems(cfg) + model_problems(cfg) + overfit_problems(cfg)
            + data_problems(cfg) + scheduler_problems(cfg) + augmentation_problems(cfg) + trainer_problems(cfg)
            + metric_problems(cfg) + callback_problems(cfg))  # metrics: core/logged_metrics.py


def optimizer_problems(cfg: DictConfig) -> list[str]:
    """The optimizer group (weight decay lives in regularization)."""
    check = Values(cfg)
    check.number("optimizer.lr", lambda v: v > 0, "the learning rate must be a number > 0 (e.g. 1e-3)", required=True)
    betas = cfg_value(cfg, "optimizer.betas")
    check.need(betas is None or (isinstance(betas, (list, tuple, ListConfig)) and len(betas) == 2
                                 and all(is_number(b) and 0 <= b < 1 for b in betas)),
               "optimizer.betas", "two numbers in [0, 1), e.g. [0.9, 0.999]")
    check.number("optimizer.eps", lambda v: v > 0, "a number > 0 (e.g. 1e-8)")
    check.number("optimizer.momentum", lambda v: 0 <= v < 1, "a number in [0, 1) (e.g. 0.9)")
    check.flag("optimizer.nesterov")
    return check.problems


def regularization_problems(cfg: DictConfig) -> list[str]:
    check = Values(cfg)
    check.number("regularization.weight_decay", lambda v: v >= 0, "a number >= 0 (0 switches L2 off)", required=True)
    check.number("regularization.l1", lambda v: v >= 0, "a number >= 0 (0 switches L1 off)", required=True)
    check.number("regularization.dropout", lambda v: 0 <= v < 1, "a probability in [0, 1)", required=True)
    check.number("regularization.label_smoothing", lambda v: 0 <= v < 1, "a number in [0, 1)", required=True)
    return check.problems


def model_problems(cfg: DictConfig) -> list[str]:
    check = Values(cfg)
    check.need(cfg_value(cfg, "model.dropout") is None, "model.dropout",
               "dropout is set in the regularization group: use regularization.dropout=<p>")
    check.number("model.width", lambda v: v > 0, "a whole number > 0", whole=True)
    check.number("model.stem_to", lambda v: v > 0, "a whole number of pixels > 0 (e.g. 8)", whole=True)
    blocks = cfg_value(cfg, "model.blocks")
    check.need(blocks is None or (isinstance(blocks, (list, tuple, ListConfig)) and len(blocks) > 0
                                  and all(is_whole(b) and b > 0 for b in blocks)),
               "model.blocks", "a non-empty list of whole numbers > 0, e.g. [1, 1]")
    check.choice("model.norm", NORMS)
    check.choice("model.activation", ACTIVATIONS)
    check.choice("model.init", INITS)
    check.flag("model.residual")
    return check.problems


def overfit_problems(cfg: DictConfig) -> list[str]:
    """`overfit` and the overfit check's settings (core/overfit_check.py)."""
    check = Values(cfg)
    check.flag("overfit")
    check.number("overfit_check.examples", lambda v: v > 0, "a whole number of training examples > 0", whole=True)
    check.number("overfit_check.max_steps", lambda v: v > 0, "a whole number of steps > 0", whole=True)
    check.number("overfit_check.loss_below", lambda v: v > 0, "a training loss > 0 (e.g. 0.01)")
    check.number("overfit_check.loss_fraction", lambda v: 0 < v < 1,
                 "a fraction of the loss at init, > 0 and < 1 (e.g. 0.01)")
    return check.problems


def data_problems(cfg: DictConfig) -> list[str]:
    """The seed and the data group: sizes, fractions of the split, label noise."""
    check = Values(cfg)
    check.number("seed", lambda v: 0 <= v < 2**32, "a whole number in [0, 2**32 - 1] (it seeds every random generator)",
                 whole=True, required=True)
    check.number("data.split_seed", lambda v: v >= 0, "a whole number >= 0", whole=True)
    check.number("data.batch_size", lambda v: v > 0, "use a whole number > 0", whole=True, required=True)
    check.number("data.fraction", lambda v: 0 < v <= 1, "a fraction of the training set in (0, 1]")
    check.number("data.subset", lambda v: v > 0, "null (all) or a whole number of training examples > 0", whole=True)
    check.number("data.num_workers", lambda v: v >= 0, "a whole number >= 0", whole=True)
    for split in ("val", "test"):
        check.number(f"data.{split}_fraction", lambda v: 0 < v < 1, f"a fraction of the data in (0, 1) for the {split} set")
    val, test = cfg_value(cfg, "data.val_fraction"), cfg_value(cfg, "data.test_fraction")
    if is_number(val) and is_number(test) and 0 < val < 1 and 0 < test < 1 and val + test >= 1:
        check.problems.append(f"data.val_fraction={val!r} and data.test_fraction={test!r} leave nothing to train on: "
                              "their sum must be < 1 (the training set is the rest).")
    noise = cfg_value(cfg, "data.label_noise")
    check.need(noise is None or (is_number(noise) and 0 <= noise < 1), "data.label_noise",
               "a fraction of training labels, 0 <= label_noise < 1 (e.g. 0.3)")
    return check.problems


def scheduler_problems(cfg: DictConfig) -> list[str]:
    check = Values(cfg)
    check.number("scheduler.warmup_steps", lambda v: v >= 0, "a whole number of steps >= 0", whole=True)
    check.number("scheduler.min_lr_ratio", lambda v: 0 <= v <= 1, "a fraction of the lr in [0, 1]")
    check.number("scheduler.gamma", lambda v: 0 < v <= 1, "a factor in (0, 1] (e.g. 0.1)")
    check.number("scheduler.every", lambda v: v > 0, "a whole number of steps > 0", whole=True)
    check.number("scheduler.pct_start", lambda v: 0 < v < 1, "a fraction of the run in (0, 1)")
    milestones = cfg_value(cfg, "scheduler.milestones")
    check.need(milestones is None or (isinstance(milestones, (list, tuple, ListConfig))
                                      and all(is_number(m) and 0 < m < 1 for m in milestones)),
               "scheduler.milestones", "a list of fractions of the run in (0, 1), e.g. [0.5, 0.75]")
    return check.problems


def augmentation_problems(cfg: DictConfig) -> list[str]:
    """Every transform's probability."""
    check, augmentation = Values(cfg), cfg_value(cfg, "augmentation")
    for name in augmentation or {}:
        if isinstance(augmentation[name], DictConfig) and "p" in augmentation[name]:
            check.number(f"augmentation.{name}.p", lambda v: 0 <= v <= 1, "a probability in [0, 1]")
    return check.problems


def trainer_problems(cfg: DictConfig) -> list[str]:
    """The trainer group (0 epochs, steps or training batches would report the metrics of an untrained model)."""
    check = Values(cfg)
    check.number("trainer.max_epochs", lambda v: v >= 1 or v == -1, "a whole number >= 1 (-1: no limit)", whole=True)
    check.number("trainer.max_steps", lambda v: v >= 1 or v == -1, "a whole number >= 1 (-1: no limit)", whole=True)
    check.number("trainer.log_every_n_steps", lambda v: v >= 1, "a whole number of steps >= 1", whole=True)
    check.number("trainer.check_val_every_n_epoch", lambda v: v >= 1, "null or a whole number of epochs >= 1",
                 whole=True)
    check.number("trainer.limit_train_batches", lambda v: 0 < v <= 1 if isinstance(v, float) else v >= 1,
                 "null (all), a fraction in (0, 1] or a whole number of batches >= 1")
    for split in ("val", "test"):
        check.number(f"trainer.limit_{split}_batches", lambda v: 0 <= v <= 1 if isinstance(v, float) else v >= 0,
                     "null (all), a fraction in [0, 1] or a whole number of batches >= 0 (0: none)")
    fast = cfg_value(cfg, "trainer.fast_dev_run")
    check.need(fast is None or isinstance(fast, bool) or (is_whole(fast) and fast >= 0), "trainer.fast_dev_run",
               "true, false or a whole number of batches >= 0")
    accelerator = cfg_value(cfg, "trainer.accelerator")
    if not isinstance(accelerator, DictConfig):  # else an Accelerator object (`_target_`)
        check.choice("trainer.accelerator", ACCELERATORS)
    devices = cfg_value(cfg, "trainer.devices")
    if devices is not None:
        allowed = devices_allowed(devices, on_cpu=accelerator == "cpu")
        check.need(allowed is None, "trainer.devices", allowed)
    check.number("trainer.gradient_clip_val", lambda v: v > 0, "null (no clipping) or a number > 0")
    check.choice("trainer.gradient_clip_algorithm", ("norm", "value"))
    check.number("trainer.accumulate_grad_batches", lambda v: v >= 1, "a whole number >= 1", whole=True)
    check.choice("trainer.precision", PRECISIONS)
    deterministic = cfg_value(cfg, "trainer.deterministic")
    check.need(deterministic is None or isinstance(deterministic, bool) or deterministic == "warn",
               "trainer.deterministic", "use true, false or warn")
    return check.problems + (precision_problems(cfg) if accelerator == "cpu" else [])


def callback_problems(cfg: DictConfig) -> list[str]:
    """The settings every callback shares: mode, save_top_k, patience, every_n_epochs (their metrics: metric_problems)."""
    check = Values(cfg)
    for name, callback in (cfg.get("callbacks") or {}).items() if not cfg.get("overfit") else []:
        if not isinstance(callback, DictConfig):
            continue
        key = f"callbacks.{name}"
        if "mode" in callback:
            check.choice(f"{key}.mode", ("min", "max"))
        check.number(f"{key}.save_top_k", lambda v: v >= -1, "a whole number >= -1 (-1: keep all, 0: none)", whole=True)
        check.number(f"{key}.patience", lambda v: v >= 0, "a whole number of validations >= 0", whole=True)
        if str(callback.get("_target_", "")).endswith(".ModelCheckpoint"):  # 0 saves nothing: no weights, no resume
            check.number(f"{key}.every_n_epochs", lambda v: v >= 1, "a whole number of epochs >= 1", whole=True)
        else:
            check.number(f"{key}.every_n_epochs", lambda v: v >= 0, "a whole number of epochs >= 0 (0: only at the end)",
                         whole=True)
    return check.problems


def devices_allowed(devices, on_cpu: bool) -> str | None:
    """None if Lightning takes `trainer.devices=<devices>`, else what it takes."""
    if devices == "auto":
        return None
    if isinstance(devices, str):  # "2", "-1", "0,1": what Lightning parses from a string
        parts = [part.strip() for part in devices.split(",") if part.strip()]
        if len(parts) == 1 and (parts[0].isdigit() or parts[0] == "-1") and "," not in devices:
            devices = int(parts[0])
        elif parts and all(part.isdigit() for part in parts):
            devices = [int(part) for part in parts]
    if on_cpu:
        return None if is_whole(devices) and devices >= 1 else "on a CPU, auto or a whole number of processes >= 1"
    if is_whole(devices) and (devices >= 1 or devices == -1):
        return None
    if (isinstance(devices, (list, tuple, ListConfig)) and len(devices) > 0 and len(set(devices)) == len(devices)
            and all(is_whole(d) and d >= 0 for d in devices)):
        return None
    return "auto, a number of devices >= 1, -1 (all of them), or a list of device indices such as [0, 1]"


def precision_problems(cfg: DictConfig) -> list[str]:
    """A run on the CPU asked for fp16 mixed precision: Lightning would train in bf16 without a word."""
    precision = cfg_value(cfg, "trainer.precision")
    if precision not in FP16_MIXED:
        return []
    return [f"trainer.precision={precision!r} needs a GPU: on a CPU Lightning would silently train in "
            "bf16-mixed instead, and the run's config would not say what ran. On a CPU use bf16-mixed or 32-true."]


def machine_problems(cfg: DictConfig) -> list[str]:
    """What only Lightning knows: the strategy's name, and whether the accelerator exists here.

    With accelerator=auto on a machine without GPUs, the devices and precision must work on a CPU.
    """
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator, XLAAccelerator
    from lightning.pytorch.strategies import StrategyRegistry

    problems = []
    strategy = cfg_value(cfg, "trainer.strategy")
    strategies = ["auto", *StrategyRegistry.available_strategies()]
    if strategy is not None and not isinstance(strategy, DictConfig) and strategy not in strategies:
        problems.append(f"trainer.strategy={strategy!r} is not allowed: use one of {', '.join(strategies)}.")
    accelerator = cfg_value(cfg, "trainer.accelerator")
    if accelerator not in ACCELERATORS or accelerator == "cpu":
        return problems  # a `_target_` of your own, or already checked with the values
    available = {"cuda": CUDAAccelerator.is_available(), "mps": MPSAccelerator.is_available(),
                 "tpu": XLAAccelerator.is_available()}
    available["gpu"] = available["cuda"] or available["mps"]
    if accelerator != "auto" and not available[accelerator]:
        problems.append(f"trainer.accelerator={accelerator!r} is not available on this machine (no such device "
                        "found): use cpu, or auto (the best device there is).")
    elif accelerator == "auto" and not any(available.values()):  # auto means the CPU here
        devices = cfg_value(cfg, "trainer.devices")
        allowed = devices_allowed(devices, on_cpu=True) if devices is not None else None
        if allowed:
            problems.append(f"trainer.devices={devices!r} is not allowed: {allowed} (auto is the CPU here).")
        problems += precision_problems(cfg)
    return problems


def broken_references(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Values that can never resolve: `???` left unset, or `${...}` naming a key that does not exist.

    A removed callback (`~callbacks.model_checkpoint`) leaves such references behind (early
    stopping's monitor points at the checkpoint's). Other resolver errors are left to Hydra.
    """
    problems = []
    for key in node_keys(cfg):
        full_key = f"{prefix}{key}"
        if OmegaConf.is_missing(cfg, key):
            problems.append(f"{full_key} has no value (???): set it, e.g. `{full_key}=<value>`.")
        elif OmegaConf.is_interpolation(cfg, key):
            try:
                cfg[key]
            except InterpolationKeyError as error:
                expression = OmegaConf.to_container(cfg, resolve=False)[key]
                reason = str(error).splitlines()[0]
                problems.append(f"{full_key}={expression} refers to a key that does not exist ({reason}): "
                                f"set {full_key} itself, or keep the key it refers to.")
            except Exception:  # another resolver's problem (e.g. ${hydra:...} outside a Hydra run): not ours
                pass
        elif isinstance(cfg[key], (DictConfig, ListConfig)):
            problems += broken_references(cfg[key], f"{full_key}.")
    return problems


def node_keys(node) -> list:
    if isinstance(node, DictConfig):
        return list(node.keys())
    return list(range(len(node))) if isinstance(node, ListConfig) else []


def checkpoint_count(text: str) -> int:
    """eval.py's and predict.py's --k: a whole number >= 1 (argparse prints the message with the usage, exit 2)."""
    import argparse

    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a whole number of checkpoints >= 1, e.g. --k 3")
    return k
