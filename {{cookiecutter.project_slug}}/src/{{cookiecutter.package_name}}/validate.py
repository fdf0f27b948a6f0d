"""Check the composed config before any work: a bad value fails in about a second.

Imports nothing heavy (no torch, no lightning), so it runs before they load. YAML takes
`lr: "0.1"` or `dropout: 2` without complaint; these checks name the key, the value
and what is allowed. A key that an option does not have (SGD has no `betas`) is skipped.
"""

import sys

from omegaconf import DictConfig, ListConfig

# The names models.py accepts. Repeated here because this file must not import torch;
# tests/test_knobs.py checks that both lists agree.
ACTIVATIONS = ("relu", "leaky_relu", "gelu")
NORMS = ("batch", "layer", "none")
INITS = ("default", "kaiming", "xavier")
PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64", "32", "16", "bf16", 64, 32, 16)


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and what is allowed."""


def validate_or_exit(cfg: DictConfig) -> None:
    """What the entry points call first: a bad value prints its message and exits with code 2."""
    try:
        validate(cfg)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def validate(cfg: DictConfig) -> None:
    problems = []

    def need(ok: bool, key: str, allowed: str) -> None:
        if not ok:
            value = cfg_value(cfg, key)
            problems.append(f"{key}={value!r} is not allowed: {allowed}.")

    def number(key: str, in_range, allowed: str, whole: bool = False, required: bool = False) -> None:
        value = cfg_value(cfg, key)
        if value is None and not required:
            return
        need((is_whole(value) if whole else is_number(value)) and in_range(value), key, allowed)

    def choice(key: str, options) -> None:
        value = cfg_value(cfg, key)
        need(value is None or value in options, key, "use one of " + ", ".join(map(str, options)))

    def flag(key: str) -> None:
        value = cfg_value(cfg, key)
        need(value is None or isinstance(value, bool), key, "use true or false")

    # optimizer (weight decay lives in regularization)
    number("optimizer.lr", lambda v: v > 0, "the learning rate must be a number > 0 (e.g. 1e-3)", required=True)
    betas = cfg_value(cfg, "optimizer.betas")
    need(betas is None or (isinstance(betas, (list, tuple, ListConfig)) and len(betas) == 2
                           and all(is_number(b) and 0 <= b < 1 for b in betas)),
         "optimizer.betas", "two numbers in [0, 1), e.g. [0.9, 0.999]")
    number("optimizer.eps", lambda v: v > 0, "a number > 0 (e.g. 1e-8)")
    number("optimizer.momentum", lambda v: 0 <= v < 1, "a number in [0, 1) (e.g. 0.9)")
    flag("optimizer.nesterov")

    # regularization
    number("regularization.weight_decay", lambda v: v >= 0, "a number >= 0 (0 switches L2 off)", required=True)
    number("regularization.l1", lambda v: v >= 0, "a number >= 0 (0 switches L1 off)", required=True)
    number("regularization.dropout", lambda v: 0 <= v < 1, "a probability in [0, 1)", required=True)
    number("regularization.label_smoothing", lambda v: 0 <= v < 1, "a number in [0, 1)", required=True)

    # model
    need(cfg_value(cfg, "model.dropout") is None, "model.dropout",
         "dropout is set in the regularization group: use regularization.dropout=<p>")
    number("model.width", lambda v: v > 0, "a whole number > 0", whole=True)
    blocks = cfg_value(cfg, "model.blocks")
    need(blocks is None or (isinstance(blocks, (list, tuple, ListConfig)) and len(blocks) > 0
                            and all(is_whole(b) and b > 0 for b in blocks)),
         "model.blocks", "a non-empty list of whole numbers > 0, e.g. [1, 1]")
    choice("model.norm", NORMS)
    choice("model.activation", ACTIVATIONS)
    choice("model.init", INITS)
    flag("model.residual")

    # data
    number("data.batch_size", lambda v: v > 0, "use a whole number > 0", whole=True, required=True)
    number("data.fraction", lambda v: 0 < v <= 1, "a fraction of the training set in (0, 1]")
    number("data.num_workers", lambda v: v >= 0, "a whole number >= 0", whole=True)

    # scheduler
    number("scheduler.warmup_steps", lambda v: v >= 0, "a whole number of steps >= 0", whole=True)
    number("scheduler.min_lr_ratio", lambda v: 0 <= v <= 1, "a fraction of the lr in [0, 1]")
    number("scheduler.gamma", lambda v: 0 < v <= 1, "a factor in (0, 1] (e.g. 0.1)")
    number("scheduler.every", lambda v: v > 0, "a whole number of steps > 0", whole=True)
    number("scheduler.pct_start", lambda v: 0 < v < 1, "a fraction of the run in (0, 1)")
    milestones = cfg_value(cfg, "scheduler.milestones")
    need(milestones is None or (isinstance(milestones, (list, tuple, ListConfig))
                                and all(is_number(m) and 0 < m < 1 for m in milestones)),
         "scheduler.milestones", "a list of fractions of the run in (0, 1), e.g. [0.5, 0.75]")

    # augmentation: every transform's probability
    augmentation = cfg_value(cfg, "augmentation")
    for name in augmentation or {}:
        if isinstance(augmentation[name], DictConfig) and "p" in augmentation[name]:
            number(f"augmentation.{name}.p", lambda v: 0 <= v <= 1, "a probability in [0, 1]")

    # trainer
    number("trainer.max_epochs", lambda v: v >= -1, "a whole number (-1: no limit)", whole=True)
    number("trainer.max_steps", lambda v: v >= -1, "a whole number (-1: no limit)", whole=True)
    number("trainer.gradient_clip_val", lambda v: v > 0, "null (no clipping) or a number > 0")
    choice("trainer.gradient_clip_algorithm", ("norm", "value"))
    number("trainer.accumulate_grad_batches", lambda v: v >= 1, "a whole number >= 1", whole=True)
    choice("trainer.precision", PRECISIONS)
    deterministic = cfg_value(cfg, "trainer.deterministic")
    need(deterministic is None or isinstance(deterministic, bool) or deterministic == "warn",
         "trainer.deterministic", "use true, false or warn")

    # data.label_noise and the ensemble block
    noise = cfg_value(cfg, "data.label_noise")
    need(noise is None or (is_number(noise) and 0 <= noise < 1), "data.label_noise",
         "a fraction of training labels, 0 <= label_noise < 1 (e.g. 0.3)")
    k = cfg_value(cfg, "ensemble.k")
    need(k is None or (isinstance(k, int) and not isinstance(k, bool) and k >= 0), "ensemble.k",
         "a whole number of checkpoints >= 0 (0 turns the ensemble table off)")
    methods = cfg_value(cfg, "ensemble.methods")
    known = {"single", "soft", "hard", "weight_average"}
    need(methods is None or set(methods) <= known, "ensemble.methods", f"a list of {sorted(known)}")

    if problems:
        raise ConfigError("Invalid configuration: " + " ".join(problems) + " Nothing was trained.")


def cfg_value(cfg: DictConfig, key: str):
    node = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return None
        node = node[part]
    return node


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
