"""Stop a hopeless trial of an Optuna sweep early (pruning), from inside its own job.

The sweeper (src/hydra_plugins/search_sweeper/) runs each trial as a Hydra job, maybe in
another process or on another machine, and passes it `optuna_trial={study, storage, number}`
(train.yaml). This callback opens that study in Optuna's journal file, reports the validation
metric after every epoch and asks the pruner whether the trial looks worse than the earlier
ones did at the same epoch. If so it stops training as early stopping would: the run still
tests, writes metrics.json and exits 0, and the trial gets the user attribute
`pruned_at_epoch`, which the sweeper tells Optuna as PRUNED (a pruned job is not a failed one).

Modelled on optuna-integration's PyTorchLightningPruningCallback, which raises TrialPruned
instead (in our runs that would end the job as failed). Optuna is imported only here.
"""

import math
from pathlib import Path

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn

from ..core.logged_metrics import task_metric
from ..runs.failures import Pruned


class OptunaPruning(L.Callback):
    def __init__(self, trial, pruner, monitor: str):
        self.trial_info = trial  # `optuna_trial` of train.yaml: null outside a sweep (then this does nothing)
        self.pruner = pruner  # an Optuna pruner, e.g. optuna.pruners.MedianPruner (configs/sweep/optuna.yaml)
        self.monitor = monitor
        self.trial = None
        self.warned = False
        self.pruned_at_epoch = None  # set when the pruner stopped this run: run.py records it as pruned

    def on_fit_start(self, trainer, pl_module):
        if self.trial_info is None:
            return
        self.monitor = task_metric(self.monitor, getattr(trainer.datamodule, "task", None))  # regression: val/r2
        self.trial = open_trial(self.trial_info, self.pruner)

    def on_validation_end(self, trainer, pl_module):
        if self.trial is None or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or not math.isfinite(float(value)):  # a NaN/inf fails the run elsewhere (core/stopping.py)
            if value is None and not self.warned and trainer.is_global_zero:
                print(f"note: {self.monitor} is not logged at validation: this trial is not pruned")
            self.warned = True
            return
        epoch = trainer.current_epoch
        prune = False
        if trainer.is_global_zero:  # one report per epoch, from one process
            self.trial.report(float(value), step=epoch)
            prune = self.trial.should_prune()
        if trainer.strategy.broadcast(prune):
            trainer.should_stop = True
            self.pruned_at_epoch = epoch
            if trainer.is_global_zero:
                self.trial.set_user_attr("pruned_at_epoch", epoch)
                print(f"optuna: trial {self.trial.number} pruned at epoch {epoch} ({self.monitor}={float(value):.4f}): "
                      f"{type(self.pruner).__name__} judged it not promising; training stops here")
            self.trial = None  # stopped: nothing more to report


def open_trial(info, pruner):
    """The running trial `info.number` of the study in `info.storage`, or None (with a note) if there is none."""
    import optuna

    if not Path(info.storage).is_file():
        print(f"note: no Optuna study at {info.storage} (moved?): this trial is not pruned")
        return None
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(info.storage)))
    study = optuna.load_study(study_name=info.study, storage=storage, pruner=pruner)
    found = next((t for t in study.get_trials(deepcopy=False) if t.number == info.number), None)
    if found is None or found.state != optuna.trial.TrialState.RUNNING:
        print(f"note: trial {info.number} of {info.storage} is not running (a resumed or repeated job): "
              "this run is not pruned")
        return None
    return optuna.trial.Trial(study, found._trial_id)  # how Optuna itself reattaches to a trial in another process


def raise_if_pruned(trainer) -> None:
    """After metrics.json is written: a trial the pruner stopped ends as "pruned" (status.json, exit 0;
    runs/failures.py), not as finished."""
    pruning = next((c for c in trainer.callbacks if isinstance(c, OptunaPruning)), None)
    if pruning is not None and pruning.pruned_at_epoch is not None:
        raise Pruned(f"the sweep's pruner stopped this trial at epoch {pruning.pruned_at_epoch} (metrics.json holds its results)")
