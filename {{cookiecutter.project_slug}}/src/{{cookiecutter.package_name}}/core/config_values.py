"""Reading a value of the composed config, and what counts as a number there (no torch: validation runs first).

Shared by core/validate.py, core/target_arguments.py and the rooms' config.py.
"""

import math

from omegaconf import DictConfig


def cfg_value(cfg: DictConfig, key: str):
    node = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return None
        node = node[part]
    return node


def is_number(value) -> bool:
    """A finite int or float (YAML's true/false, .nan and .inf are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
