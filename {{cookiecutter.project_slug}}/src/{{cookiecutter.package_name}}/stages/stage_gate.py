"""The gate of a ladder stage (stages/ladder.py): does learning still work after this un-simplification?

A gate is a few conditions on the stage's results, all of which must hold (a stage that is the
overfitting check, overfit=true, must also pass the check: overfit/passed in its metrics):
  train_loss_below  the final train/loss is below this
  floor             the val metric is above this number (stages/ladder.py turns `baseline` into the
                    best classic baseline's score on the same split, baseline/val/...: checks/baselines.py)
  tolerance         the val metric is at most this much below the previous stage's
The verdict is computed from the stage's metrics.json (`verdict`, used by stages/ladder.py). While
the stage trains, the callback can end it early:
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
            why = "no baseline (baselines=false)" if floor is None else f"no {metric} in this stage"
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


class StageGate(L.Callback):
    """Ends the stage once its gate is met (stop_when_met) or missed (stop_when_missed); the verdict is `verdict`."""

    def __init__(self, gate: dict, metric: str = "val/acc", floor: float | None = None,
                 previous: float | None = None, stop_when_met: bool = False, stop_when_missed: int | None = None):
        self.gate, self.metric, self.floor, self.previous = dict(gate), metric, floor, previous
        self.stop_when_met, self.stop_when_missed = stop_when_met, stop_when_missed
        self.met_at_epoch = None
        self.missed_for = 0  # validations in a row with the gate failing and no new best checkpoint

    def on_validation_end(self, trainer, pl_module):
        if trainer.sanity_checking or not (self.stop_when_met or self.stop_when_missed):
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
