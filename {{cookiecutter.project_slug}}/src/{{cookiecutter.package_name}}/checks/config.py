"""The checks room's key of the run config, checked with the core's before any work (validation.py)."""

from ..core.validate import Values


def baseline_problems(cfg) -> list[str]:
    """`baselines` (checks/baselines.py, called by run.py): true or false."""
    check = Values(cfg)
    check.flag("baselines")
    return check.problems
