"""The workflow's keys of the run config (final, test_set_budget, target), checked with the core's (validation.py)."""

from ..core.validate import Values
from .target import target_problems


def workflow_problems(cfg) -> list[str]:
    """`final`, `test_set_budget` and the target (workflow/target.py): one sentence per bad value."""
    check = Values(cfg)
    check.flag("final")
    check.number("test_set_budget", lambda v: v >= 0, "null (no warning) or a whole number of configurations >= 0",
                 whole=True)
    return check.problems + target_problems(cfg)
