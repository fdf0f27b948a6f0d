"""A target before the work: `target: {metric: test/acc, value: 0.99, why: "..."}` in the config.

The methodology: choose the error metric and a target value (from the requirements or the
state of the art) before starting; then every result is read against it. Every run prints
whether the target is met and how far it is; the worklog shows the best result so far
against it (`python worklog.py`). Losses and errors (logged_metrics.lower_is_better: a name
ending in loss, nll, mse, mae, rmse or error) are met from below, everything else from above; `mode: min|max` says it
explicitly. No file imports torch here: workflow/config.py calls `target_problems` in the first second.
"""

import math

from ..core.logged_metrics import lower_is_better as lower_is_better_metric
from ..core.logged_metrics import written_metric


def lower_is_better(target) -> bool:
    """`mode: min|max` if the target says; else from its metric's name (logged_metrics.lower_is_better)."""
    mode = target.get("mode")
    if mode is not None:
        return mode == "min"
    return lower_is_better_metric(target["metric"])


def target_result(target, metrics: dict) -> dict | None:
    """{metric, value, reached, met, distance} (distance > 0: still to go); None without a target or
    when this run has no such metric. On regression an accuracy reads as its R2 (test/acc: test/r2)."""
    if not target:
        return None
    metric = written_metric(str(target.get("metric")), metrics)
    if metric not in metrics:
        return None
    reached = float(metrics[metric])
    value = float(target["value"])
    distance = reached - value if lower_is_better(target) else value - reached
    return {"metric": metric, "value": value, "reached": reached, "lower_is_better": lower_is_better(target),
            "met": not math.isnan(reached) and distance <= 0, "distance": distance}


def target_line(result: dict, why: str | None = None) -> str:
    """One line: `target test/acc >= 0.99: MET (0.9921)` or `NOT MET (0.9650, 0.0250 to go)`."""
    sign = "<=" if result["lower_is_better"] else ">="
    head = f"target {result['metric']} {sign} {result['value']:g}"
    if result["met"]:
        text = f"{head}: MET ({result['reached']:.4f}, {-result['distance']:.4f} to spare)"
    else:
        text = f"{head}: NOT MET ({result['reached']:.4f}, {result['distance']:.4f} to go)"
    return text + (f"  [{why}]" if why else "")


def target_problems(cfg) -> list[str]:
    """The target's keys and types, as validation.py reports problems (one sentence each)."""
    target = cfg.get("target")
    if target is None:
        return []
    if not hasattr(target, "get") or target.get("metric") is None or target.get("value") is None:
        return [f"target={target!r} is not allowed: use null, or metric (a key of metrics.json, e.g. test/acc), "
                "value (a number) and why (where the number comes from), e.g. "
                "'target={metric: test/acc, value: 0.99, why: requirement}'."]
    problems = []
    value = target.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"target.value={value!r} is not allowed: a number (e.g. 0.99).")
    if target.get("mode") not in (None, "min", "max"):
        problems.append(f"target.mode={target.get('mode')!r} is not allowed: min, max or null (from the name).")
    if not isinstance(target.get("metric"), str):
        problems.append(f"target.metric={target.get('metric')!r} is not allowed: a key of metrics.json (e.g. test/acc).")
    return problems
