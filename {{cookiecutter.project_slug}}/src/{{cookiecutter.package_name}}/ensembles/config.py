"""The ensemble block's values (ensembles/ensemble.py), checked with the core's before any work (validation.py)."""

from omegaconf import ListConfig

from ..core.config_values import cfg_value
from ..core.validate import Values

METHODS = {"single", "soft", "hard", "weight_average"}


def ensemble_problems(cfg) -> list[str]:
    """`ensemble.k` and `ensemble.methods`: one sentence per bad value."""
    check = Values(cfg)
    k = cfg_value(cfg, "ensemble.k")
    check.need(k is None or (isinstance(k, int) and not isinstance(k, bool) and k >= 0), "ensemble.k",
               "a whole number of checkpoints >= 0 (0 turns the ensemble table off)")
    methods = cfg_value(cfg, "ensemble.methods")
    check.need(methods is None or (isinstance(methods, (list, tuple, ListConfig)) and set(methods) <= METHODS),
               "ensemble.methods", f"a list of {sorted(METHODS)}")
    return check.problems
