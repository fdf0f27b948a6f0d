"""The gate of a ladder stage (stages/ladder.py): does learning still work after this un-simplification?

A gate is a few conditions on the stage's results, all of which must hold (a stage that is the
overfitting check, overfit=true, must also pass the check: overfit/passed in its metrics):
  train_loss_below  the final train/loss is below this
  floor             the val metric is above this number (`floor_of` turns `baseline` into the
                    best classic baseline's score on the same split, baseline/val/...: checks/baselines.py)
  tolerance         the val metric is at most this much below the previous stage's
The verdict is computed from the stage's metrics.json (`judge`, called by stages/ladder.py once the
stage's run has written it: the baselines and the overfit check's verdict join the metrics after
Lightning's hooks, and a stage finished before is judged again without training). While the stage
trains, the callback (added by `add_stage_gate`) can end it early:
  stop_when_met     as soon as the gate is certainly met: the conditions hold now and this
                    epoch becomes the best checkpoint, whose weights give the final numbers;
  stop_when_missed  N: once the gate has failed at N validations in a row none of which gave a
                    new best checkpoint. The final numbers come from the best checkpoint, so
                    the gate could then only be met by a new best later: the judgment call of
                    early stopping, made only while the gate fails (a non-finite loss already
                    ends any run: core/stop_on_non_finite_loss.py).
Our own code: no library has gates.
"""

import lightning as L

from ..runs.printed_command import learning_rate_advice

# what to try, by the condition that failed (the same advice style as the overfit verdict)
CANNOT_FIT = ("the model cannot fit the training examples here. Check the learning rate{check}, "
              "the loss input (logits, not probabilities), the labels, and dead units (diag/ in TensorBoard)")
ADVICE = {
    "overfit_check": CANNOT_FIT + "; the stage's train.log has the check's own verdict line",
    "train_loss_below": CANNOT_FIT,
    "floor": "the network learns less from the inputs than a classic model. Train longer (trainer.max_epochs), "
             "tune the learning rate{check}, try a bigger model; or the classic model is enough",
    "tolerance": "this change made the validation score worse. Try a milder version of it (less dropout or weight "
                 "decay, lighter augmentation, a smaller size step), more epochs or a lower learning rate "
                 "(bigger or regularized models fit more slowly), or stages.warm_start=true",
}


def checks(gate: dict, metrics: dict, metric: str, floor: float | None, previous: float | None) -> list:
    """[(condition, passed: bool | None, text)] for the gate's conditions; None: cannot be checked here."""
    results = []
    if "overfit/passed" in metrics:  # a stage that is the overfitting check: its own verdict is a condition
        passed = metrics["overfit/passed"] == 1
        results.append(("overfit_check", passed, f"overfit check {'PASSED' if passed else 'FAILED'}"))
    if gate.get("train_loss_below") is not None:
        limit, loss = gate["train_loss_below"], metrics.get("train/loss")
        passed = None if loss is None else loss < limit
        results.append(("train_loss_below", passed, f"train/loss {fmt(loss)} {'<' if passed else 'not <'} {limit:g}"))
    value = metrics.get(metric)
    if gate.get("floor") is not None:
        if floor is None or value is None:
            why = "no baseline in metrics.json (baselines=false)" if floor is None else f"no {metric} in this stage"
            results.append(("floor", None, f"floor not checked: {why}"))
        else:
            results.append(("floor", value > floor, f"{metric} {value:.4f} {'>' if value > floor else 'not >'} "
                                                     f"floor {floor:.4f}"))
    if gate.get("tolerance") is not None:
        if previous is None or value is None:
            results.append(("tolerance", None, f"tolerance not checked: no {metric} in "
                                               f"{'the previous stage' if previous is None else 'this stage'}"))
        else:
            passed = value >= previous - gate["tolerance"]
            results.append(("tolerance", passed, f"{metric} {value:.4f} vs previous {previous:.4f} "
                                                 f"({value - previous:+.4f}, tolerance {gate['tolerance']:g})"))
    return results


def verdict(gate: dict, metrics: dict, metric: str, floor, previous) -> tuple[bool, str, str]:
    """(passed, one line for the table, advice if it failed) from a finished stage's metrics."""
    results = checks(gate, metrics, metric, floor, previous)
    failed = [(name, text) for name, passed, text in results if passed is False]
    line = "; ".join(text for _, _, text in results) or "no conditions"
    if failed:
        return False, "FAILED: " + line, "; ".join(
            f"{text}: " + ADVICE[name].format(check=learning_rate_advice()) for name, text in failed)
    return True, "PASSED: " + line, ""


def fmt(value) -> str:
    return "missing" if value is None else f"{value:.4g}"


def floor_of(gate: dict, metric: str, metrics: dict, previous) -> float | None:
    """The gate's floor: a number, or `baseline`: the best classic model's score in this stage's metrics
    (or the previous stage's) on the split of the gate's metric (val/acc: `baseline/val/<model>_acc`),
    for that metric's score (acc or r2): the network and the baselines compared on the same examples."""
    floor = gate.get("floor")
    if floor != "baseline":
        return floor
    split, _, name = metric.rpartition("/")
    prefix = "baseline/val/" if split == "val" else "baseline/"  # baseline/<model>_<score>: the test split's
    for source in (metrics, previous[1] if previous else {}):
        baselines = [v for k, v in source.items() if k.startswith(prefix) and "/" not in k.removeprefix(prefix)
                     and k.endswith("_" + name)]
        if baselines:
            return max(baselines)
    return None


def floor_problem(gate: dict, cfg) -> str | None:
    """`floor: baseline` needs the classic baselines (the checks room, checks/baselines.py) in the stage's
    metrics.json: in a project baked without them it fails before any stage trains, not after."""
    if gate.get("floor") == "baseline" and "baselines" not in cfg:
        return ("gate.floor=baseline compares the network with the classic baselines (checks/baselines.py), "
                "which this project was baked without: give the floor as a number (e.g. floor: 0.9) or remove it.")
    return None


def judge(stage: dict, metrics: dict, previous, error: str | None) -> tuple[bool, str, str]:
    """(passed, verdict line, advice) of a finished stage, from its metrics.json; `previous`: (stage, metrics,
    passed) of the stage before it, or None."""
    if not metrics:
        return False, f"FAILED: {error or 'no metrics.json'}", error or "the stage wrote no metrics.json"
    gate, metric = stage["gate"], stage["metric"]
    before = previous[1].get(metric) if previous else None
    return verdict(gate, metrics, metric, floor_of(gate, metric, metrics, previous), before)


def add_stage_gate(cfg, stage: dict, previous) -> None:
    """The stage's gate in its run's config (open for writing): the StageGate callback, which can end the stage
    early, and on an overfit=true stage the check's own threshold at the gate's train_loss_below."""
    gate, metric = stage["gate"], stage["metric"]
    if cfg.get("overfit") and gate.get("train_loss_below") is not None:
        cfg.overfit_check.loss_below = gate["train_loss_below"]  # the overfit check decides at the gate's threshold
    cfg.callbacks = cfg.callbacks or {}
    cfg.callbacks.stage_gate = {
        "_target_": f"{__name__}.StageGate", "gate": gate, "metric": metric,
        "floor": floor_of(gate, metric, {}, previous), "previous": previous[1].get(metric) if previous else None,
        "stop_when_met": bool(gate.get("stop_when_met", False)), "stop_when_missed": gate.get("stop_when_missed")}


class StageGate(L.Callback):
    """Ends the stage once its gate is met (stop_when_met) or missed (stop_when_missed); the verdict is `verdict`."""

    def __init__(self, gate: dict, metric: str = "val/acc", floor: float | None = None,
                 previous: float | None = None, stop_when_met: bool = False, stop_when_missed: int | None = None):
        self.gate, self.metric, self.floor, self.previous = dict(gate), metric, floor, previous
        self.stop_when_met, self.stop_when_missed = stop_when_met, stop_when_missed
        self.met_at_epoch = None
        self.missed_for = 0  # validations in a row with the gate failing and no new best checkpoint

    def on_validation_end(self, trainer, pl_module):
        fitting = trainer.state.fn == "fit"  # not the best weights' evaluation after training
        if trainer.sanity_checking or not fitting or not (self.stop_when_met or self.stop_when_missed):
            return
        now = {key: float(value) for key, value in trainer.callback_metrics.items() if value.numel() == 1}
        results = checks(self.gate, now, self.metric, self.floor, self.previous)
        becomes_best = self.becomes_best(trainer, now)
        said = "; ".join(text for _, _, text in results)
        if self.stop_when_met and results and all(passed for _, passed, _ in results) and becomes_best:
            self.met_at_epoch = trainer.current_epoch
            trainer.should_stop = True
            print(f"gate met at epoch {trainer.current_epoch}: {said}; stage ended")
        failing = any(passed is False for _, passed, _ in results)
        self.missed_for = self.missed_for + 1 if failing and not becomes_best else 0
        if self.stop_when_missed and self.missed_for >= self.stop_when_missed:
            trainer.should_stop = True
            print(f"gate missed at epoch {trainer.current_epoch}: {said}; no new best checkpoint in "
                  f"{self.missed_for} validations: stage ended")

    @staticmethod
    def becomes_best(trainer, now: dict) -> bool:
        """Will this epoch's checkpoint be the best one (whose weights give the final metrics)?"""
        checkpoint = trainer.checkpoint_callback
        if checkpoint is None or checkpoint.monitor is None:
            return True
        current, best = now.get(checkpoint.monitor), checkpoint.best_model_score
        if current is None or best is None:
            return current is not None
        return current < float(best) if checkpoint.mode == "min" else current > float(best)

    def state_dict(self):
        return {"met_at_epoch": self.met_at_epoch, "missed_for": self.missed_for}

    def load_state_dict(self, state_dict):
        self.met_at_epoch = state_dict.get("met_at_epoch")
        self.missed_for = state_dict.get("missed_for", 0)
