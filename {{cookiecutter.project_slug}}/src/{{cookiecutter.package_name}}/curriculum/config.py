"""The curriculum block's values, checked with the core's before any work (validation.py).

The names of orders, scorers and pacings are repeated from curriculum/difficulty.py and
curriculum/pacing.py because this file must not import torch.
"""

from pathlib import Path

from ..core.config_values import cfg_value
from ..core.validate import Values


def curriculum_problems(cfg) -> list[str]:
    """With a curriculum (`curriculum._target_`): its order, scorer, pacing and fractions; one sentence per bad value."""
    if not cfg_value(cfg, "curriculum._target_"):
        return []
    check = Values(cfg)
    check.choice("curriculum.order", ("easy_to_hard", "hard_to_easy", "self_paced"))
    check.choice("curriculum.scorer", ("baseline", "checkpoint"))
    check.choice("curriculum.pacing", ("linear", "root", "step"))
    for end in ("start", "end"):
        check.number(f"curriculum.{end}_fraction", lambda v: 0 < v <= 1, "a fraction of the training set in (0, 1]",
                     required=True)
    check.number("curriculum.full_at_epoch", lambda v: v >= 0, "a whole number of epochs >= 0", whole=True,
                 required=True)
    checkpoint = cfg_value(cfg, "curriculum.checkpoint")
    if cfg_value(cfg, "curriculum.scorer") == "checkpoint" and not (checkpoint and Path(str(checkpoint)).is_file()):
        check.need(False, "curriculum.checkpoint", "with curriculum.scorer=checkpoint, the path of an existing .ckpt "
                   "of this project trained on the same data")
    return check.problems
