"""The end of a run in a few lines: the numbers a researcher reads first.

The task's test and validation score, the best baseline, the best ensemble row, the last
pseudo-label round and the fit diagnosis; every other number (per-class slices, ensembles,
baselines, fit details) is in metrics.json and TensorBoard, and the last line says where.
"""

import math

from .logged_metrics import written_metric


def headline_lines(metrics: dict) -> list[str]:
    """Lines for the console from the flat metrics of a run (metrics.json's keys)."""
    if "overfit/passed" in metrics:  # the overfitting check: its verdict line says the rest
        return [f"train/loss {metrics['train/loss']:.4f}"]
    score = written_metric("test/acc", metrics).rsplit("/", 1)[-1]  # acc, or r2 on regression (core/logged_metrics.py)
    lines = ["  ".join(f"{key} {metrics[key]:.4f}" for key in (f"test/{score}", f"val/{score}", "test/loss")
                       if key in metrics)]
{%- if cookiecutter.__with_checks == "yes" %}
    baselines = {key.removeprefix("baseline/").removesuffix(f"_{score}"): value for key, value in metrics.items()
                 if key.startswith("baseline/") and not key.startswith("baseline/val/") and key.endswith(f"_{score}")
                 and math.isfinite(value)}
    if baselines:
        name = max(baselines, key=baselines.get)
        lines.append(f"best baseline: {name} {baselines[name]:.4f}")
{%- endif %}
    rows = {key.split("/")[1]: value for key, value in metrics.items()
            if key.startswith("ensemble/") and key.endswith(f"/{score}") and math.isfinite(value)}
    if rows:
        row = max(rows, key=rows.get)  # "single" wins ties: it is first
        lines.append(f"best ensemble row: {row} {rows[row]:.4f}" + (f" (single {rows['single']:.4f})"
                                                                     if "single" in rows and row != "single" else ""))
    rounds = sorted(int(key.split("/")[1].removeprefix("round_")) for key in metrics
                    if key.startswith("pseudo/round_") and key.endswith(f"/test_{score}"))
    if rounds:
        last = f"pseudo/round_{rounds[-1]}"
        lines.append(f"pseudo-labels: round {rounds[-1]} test/{score} {metrics[f'{last}/test_{score}']:.4f} "
                     f"(round 0 {metrics.get(f'pseudo/round_0/test_{score}', math.nan):.4f})")
{%- if cookiecutter.__with_diagnostics == "yes" %}
    if "fit/gap" in metrics:
        verdict = ("UNDERFITTING" if metrics.get("fit/underfit") else "OVERFITTING" if metrics.get("fit/overfit")
                   else "GOOD FIT")
        lines.append(f"fit: {verdict} (gap train-val {metrics['fit/gap']:+.4f})")  # the full line: above
{%- endif %}
    return lines
