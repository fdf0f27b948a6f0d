"""Check the composed config before any work: a bad value fails in about a second.

Imports nothing heavy (no torch, no lightning), so it runs before they load. YAML takes
`lr: "0.1"` or `dropout: 2` without complaint; these checks name the key, the value
and what is allowed.
"""

from omegaconf import DictConfig


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and what is allowed."""


def validate(cfg: DictConfig) -> None:
    problems = []

    def need(ok: bool, key: str, allowed: str) -> None:
        if not ok:
            value = cfg_value(cfg, key)
            problems.append(f"{key}={value!r} is not allowed: {allowed}.")

    need(is_number(cfg_value(cfg, "optimizer.lr")) and cfg_value(cfg, "optimizer.lr") > 0,
         "optimizer.lr", "the learning rate must be a number > 0 (e.g. 1e-3)")
    need(isinstance(cfg_value(cfg, "data.batch_size"), int) and cfg_value(cfg, "data.batch_size") > 0,
         "data.batch_size", "use a whole number > 0")
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
        if node is None or part not in node:
            return None
        node = node[part]
    return node


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
