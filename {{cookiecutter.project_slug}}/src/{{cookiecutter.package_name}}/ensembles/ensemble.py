"""Checkpoint ensembles: is the best single checkpoint the best we can do?

Rows of the table (accuracy and NLL on the test set; NLL often shows an ensemble's gain
before accuracy does):
  single          the best checkpoint by the monitored metric (val/loss)
  soft            the top-k checkpoints, mean of their probabilities
  hard            the top-k checkpoints, majority vote (accuracy only: 0/1 votes are not probabilities,
                  an NLL of them would measure the smoothing, not the models)
  weight_average  one model whose weights are the mean of the top-k, batch-norm statistics
                  recomputed on the training data (torch.optim.swa_utils.update_bn)
Across the runs of a sweep (eval.py on a multirun folder) the rows are the runs' best
checkpoints: single (mean over runs), the best run (named), soft and hard; one table per group
of jobs that differ only in `seed` (or the keys given with `--across`). Regression (RMSE and R2 instead of
accuracy and NLL) has no classes to vote on: its rows are single, mean (the `soft` method:
the mean of the top-k predictions) and weight_average. Our own code: no library ensembles
Lightning checkpoints.
At the end of training the CheckpointEnsemble callback (configs/callbacks/default.yaml) adds the table to the
run's test results; eval.py computes it for any run folder, checkpoint or multirun folder.
Every row uses a checkpoint's `state_dict`: with `callbacks=ema` these are the averaged
weights (Lightning's WeightAveraging keeps the raw ones beside them), the same weights as
test/acc; the table's second line says which.
"""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from ..core.logged_metrics import task_metric
from ..runs.allowlist import check_targets, recorded_config
from ..runs.checkpoints import (
    CheckpointError,
    load_classifier,
    ranked_checkpoints,
    read_checkpoint,
    read_finite_checkpoint,
)
from ..runs.predict import model_outputs
from ..runs.run_folder import settings_of
from ..runs.split_fingerprint import check_same_test_set, recorded_split, run_overrides

METHODS = ("single", "soft", "hard", "weight_average")


def probabilities(module, x: torch.Tensor) -> torch.Tensor:
    """Class probabilities, or for regression the predicted values (what an ensemble averages)."""
    return model_outputs(module, x, module.task)


def score(probs: torch.Tensor, y: torch.Tensor) -> dict:
    if y.is_floating_point():  # regression targets (the data contract: class labels are integers)
        return regression_score(probs, y)
    nll = F.nll_loss(probs.clamp_min(1e-12).log(), y)
    return {"acc": float((probs.argmax(1) == y).float().mean()), "nll": float(nll)}


def regression_score(predictions: torch.Tensor, y: torch.Tensor) -> dict:
    from torchmetrics.functional import mean_squared_error, r2_score

    predictions = predictions.reshape(y.shape)
    return {"rmse": float(mean_squared_error(predictions, y, squared=False)), "r2": float(r2_score(predictions, y))}


def hard_vote(all_probs: list[torch.Tensor], y: torch.Tensor) -> dict:
    """Majority vote of the models' predicted classes: its accuracy (ties go to the lower class index)."""
    num_classes = all_probs[0].shape[1]
    votes = sum(F.one_hot(p.argmax(1), num_classes) for p in all_probs)
    return {"acc": float((votes.argmax(1) == y).float().mean())}


def average_weights(paths: list[Path], train_x: torch.Tensor, hyper_parameters: dict | None = None,
                    checkpoints: list[dict] | None = None):
    """One model with the mean weights of the checkpoints; batch-norm statistics recomputed.
    `checkpoints`: the files' contents when the caller has already read them."""
    checkpoints = checkpoints or [read_checkpoint(p) for p in paths]
    module = load_classifier(paths[0], hyper_parameters, checkpoint=checkpoints[0])
    states = [checkpoint["state_dict"] for checkpoint in checkpoints]
    mean = {k: torch.stack([s[k].float() for s in states]).mean(0) if v.is_floating_point() else v
            for k, v in states[0].items()}
    module.load_state_dict(mean)
    # The mean of the running statistics is not the statistics of the mean model: recompute them.
    batches = [(train_x[i : i + 256],) for i in range(0, len(train_x), 256)]
    torch.optim.swa_utils.update_bn(batches, module)
    return module.eval()


def checkpoint_rows(paths: list[Path], x, y, train_x, methods=METHODS, hyper_parameters: dict | None = None) -> dict:
    """Rows of the table for checkpoints of ONE run (best first).

    `hyper_parameters`: the config of the run being trained (trusted); else each checkpoint's own.
    """
    checkpoints = [read_checkpoint(p) for p in paths]  # each file read once (weight_average needs them again)
    all_probs = [probabilities(load_classifier(p, hyper_parameters, checkpoint=c), x)
                 for p, c in zip(paths, checkpoints, strict=True)]
    regression = y.is_floating_point()
    rows = {}
    if "single" in methods:
        rows["single"] = score(all_probs[0], y)
    if "soft" in methods:
        rows["mean" if regression else "soft"] = score(torch.stack(all_probs).mean(0), y)
    if "hard" in methods and regression:
        print("note: the hard vote needs classes: no `hard` row on a regression task.")
    elif "hard" in methods:
        rows["hard"] = hard_vote(all_probs, y)
    if "weight_average" in methods:
        rows["weight_average"] = score(probabilities(average_weights(paths, train_x, hyper_parameters, checkpoints), x), y)
    return rows


def cross_run_rows(best_paths: list[Path], x, y) -> tuple[dict, int]:
    """Rows for the best checkpoints of several runs (e.g. seeds): one model per run; and which run is
    single_best_run (its index in best_paths)."""
    all_probs = [probabilities(load_classifier(p), x) for p in best_paths]
    singles = [score(p, y) for p in all_probs]
    headline = task_metric("acc", "regression" if y.is_floating_point() else "classification")
    best = max(range(len(singles)), key=lambda i: singles[i][headline])
    if y.is_floating_point():  # regression: no vote, the ensemble is the mean prediction
        return {
            "single_mean": {m: sum(s[m] for s in singles) / len(singles) for m in ("rmse", "r2")},
            "single_best_run": singles[best],
            "cross_run_mean": score(torch.stack(all_probs).mean(0), y),
        }, best
    return {
        "single_mean": {m: sum(s[m] for s in singles) / len(singles) for m in ("acc", "nll")},
        "single_best_run": singles[best],
        "cross_run_soft": score(torch.stack(all_probs).mean(0), y),
        "cross_run_hard": hard_vote(all_probs, y),
    }, best


def as_metrics(rows: dict) -> dict:
    return {f"ensemble/{row}/{m}": value for row, values in rows.items() for m, value in values.items()}


def which_weights(paths: list[Path]) -> str:
    """Which weights the rows use: WeightAveraging (callbacks=ema) saves the averaged weights as a checkpoint's
    state_dict and the raw ones as `current_model_state`; the rows always use the state_dict."""
    averaged = sum("current_model_state" in read_checkpoint(p) for p in paths)
    if averaged == 0:
        return "weights: as trained (no weight averaging) in every row"
    if averaged == len(paths):
        return "weights: averaged (callbacks=ema, the checkpoints' state_dict) in every row, as for test/acc"
    return f"weights: averaged (callbacks=ema) in {averaged} of the {len(paths)} checkpoints, as trained in the others"


def print_table(rows: dict, title: str) -> None:
    columns = list(max(rows.values(), key=len, default={"acc": 0, "nll": 0}))  # acc, nll (regression: rmse, r2)
    print(f"\n{title}")
    print(f"  {'':16s} " + " ".join(f"{column:>8s}" for column in columns))
    for name, values in rows.items():  # a hard vote has no NLL: "-"
        print(f"  {name:16s} " + " ".join(f"{values[c]:8.4f}" if c in values else f"{'-':>8s}" for c in columns))


class CheckpointEnsemble(Callback):
    """End of training (the test of the best checkpoint, core/training.py): the table of this run's top-k
    checkpoints (or its snapshots), printed and logged as ensemble/<row>/<metric>, so that trainer.test
    returns it into metrics.json and TensorBoard. The `ensemble:` keys of configs/train.yaml set it."""

    def __init__(self, k: int = 3, methods=METHODS, snapshots: bool = False):
        self.k, self.methods, self.snapshots = k, tuple(methods or ()), snapshots
        self.table: tuple[dict, str] | None = None

    def on_test_epoch_end(self, trainer, pl_module):
        self.table, metrics = None, {}
        if self.k and self.methods and trainer.is_global_zero:
            metrics = self.metrics(trainer, pl_module)
        metrics = trainer.strategy.broadcast(metrics)  # DDP: every process logs the same keys and values
        for key, value in metrics.items():
            pl_module.log(key, value, sync_dist=True)

    def on_test_end(self, trainer, pl_module):
        if self.table is not None:  # printed once the test's progress bar is done
            print_table(*self.table)

    def metrics(self, trainer, pl_module) -> dict:
        """The rows as ensemble/<row>/<metric>, each a float32 as Lightning logs it (the table prints the same)."""
        paths = ranked_checkpoints(trainer.default_root_dir, self.k, self.snapshots)  # the run (or round) folder
        if not paths:
            return {}
        # Built from this run's config, not from the files' hyperparameters: nothing read from disk is instantiated.
        data = trainer.datamodule
        (test_x, test_y), (train_x, _) = data.split_tensors("test"), data.split_tensors("train")
        rows = checkpoint_rows(paths, test_x, test_y, train_x, self.methods, dict(pl_module.hparams))
        rows = {row: {m: float(torch.tensor(value)) for m, value in values.items()} for row, values in rows.items()}
        what = f"{len(paths)} snapshots" if self.snapshots else f"top-{len(paths)} checkpoints"
        self.table = rows, f"test set, {what} (ensemble/... in metrics.json and TensorBoard):\n{which_weights(paths)}"
        return as_metrics(rows)


def run_data(run_dir: Path, test_set: str | None = None):
    """The datamodule a run was trained with (its `.hydra/config.yaml`), for its test set.

    `test_set`: the test fingerprint the run recorded (split.json); the rebuilt data must match it.
    """
    from hydra.utils import instantiate

    config = Path(run_dir) / ".hydra" / "config.yaml"
    data_config = recorded_config(run_dir, (  # a crafted config builds nothing (runs/allowlist.py)
        "{config} does not exist: eval.py needs the run's config to rebuild its data. "
        "Give a checkpoint inside a run folder made by train.py, a run folder, or a multirun folder."),
        FileNotFoundError, key="data")
    data = instantiate(data_config)
    if test_set is not None and data.fingerprint()["test"] != test_set:
        print(f"warning: the test set rebuilt from {config} differs from the one recorded in split.json when "
              "the run was trained: the data or the way it is read changed since; scores may differ from the "
              "run's own.", file=sys.stderr)
    return data


def check_checkpoint_targets(paths: list[Path]) -> None:
    """eval.py: refuse foreign `_target_`s in any of the checkpoints before anything is built."""
    for path in paths:
        check_targets(read_checkpoint(path)["hyper_parameters"], path)


def evaluate(path, k: int = 3, across: tuple = ("seed",)) -> list[tuple[dict, str]]:
    """eval.py: [(rows, title)] for a checkpoint file, a run folder (its top-k), or a multirun folder
    (one cross-run ensemble per group of jobs that differ only in the keys `across`)."""
    path = Path(path)
    if path.suffix == ".ckpt" or path.is_file():
        # missing, corrupted, foreign targets, NaN weights: one clear error before anything is built
        check_targets(read_finite_checkpoint(path)["hyper_parameters"], path)
        run = path.parent.parent
        data = run_data(run, recorded_split(run).get("test"))
        (test_x, test_y), (train_x, _) = data.split_tensors("test"), data.split_tensors("train")
        rows = checkpoint_rows([path], test_x, test_y, train_x, ("single",))
        return [(rows, f"test set, {path}:\n{which_weights([path])}")]
    if (path / "checkpoints").is_dir():
        paths = ranked_checkpoints(path, k)
        if not paths:
            raise CheckpointError(f"{path / 'checkpoints'} holds no readable checkpoint with finite weights.")
        check_checkpoint_targets(paths)
        data = run_data(path, recorded_split(path).get("test"))
        (test_x, test_y), (train_x, _) = data.split_tensors("test"), data.split_tensors("train")
        rows = checkpoint_rows(paths, test_x, test_y, train_x)
        return [(rows, f"test set, top-{len(paths)} checkpoints of {path}:\n{which_weights(paths)}")]
    runs = sorted((p for p in path.iterdir() if ranked_checkpoints(p, 1)), key=lambda p: (len(p.name), p.name)) \
        if path.is_dir() else []
    if not runs:
        raise FileNotFoundError(
            f"{path} is neither a checkpoint (.ckpt), nor a run folder (with checkpoints/), nor a multirun "
            "folder whose jobs hold ranked checkpoints. Give one of those, e.g. logs/runs/<date>_<time>."
        )
    ensembles, alone = ensemble_groups(runs, across)
    # a job that no other job repeats (a grid sweep) is scored on its own: its top-k table
    return [cross_run_table(path, group, across) for group in ensembles] + [job_table(run, k) for run in alone]


def job_table(run: Path, k: int) -> tuple[dict, str]:
    """The table of one job of a sweep that no other job repeats in all but `across`."""
    (rows, title), = evaluate(run, k)
    return rows, f"job {describe(run, ())}, {title}"


def ensemble_groups(runs: list[Path], across: tuple) -> tuple[list[list[Path]], list[Path]]:
    """The sweep's jobs grouped by their overrides other than `across` (e.g. one group per model and
    learning rate, its seeds inside), and the jobs alone in their group: a cross-run ensemble of
    different setups would say nothing about any of them, so those are scored one by one."""
    groups: dict[tuple, list[Path]] = {}
    for run in runs:
        setting = tuple((k, v) for k, v in settings_of(run_overrides(run)).items() if k not in across)
        groups.setdefault(setting, []).append(run)
    alone = [run for members in groups.values() if len(members) == 1 for run in members]
    if alone:
        print(f"no cross-run ensemble for job {', '.join(describe(run, ()) for run in alone)}: no other job "
              f"differs from it only in {', '.join(across)} (--across names the keys that may differ, e.g. "
              "`--across seed,optimizer.lr`); each is scored on its own below")
    return [members for members in groups.values() if len(members) > 1], alone


def cross_run_table(path: Path, runs: list[Path], across: tuple) -> tuple[dict, str]:
    best = [ranked_checkpoints(run, 1)[0] for run in runs]
    check_checkpoint_targets(best)
    # Runs are combined only when tested on the same examples (runs older than split.json: rebuilt)
    test_sets = {run: recorded_split(run).get("test") or run_data(run).fingerprint()["test"] for run in runs}
    check_same_test_set(test_sets)
    data = run_data(runs[0], test_sets[runs[0]])
    rows, winner = cross_run_rows(best, *data.split_tensors("test"))
    shared = " ".join(f"{k}={v}" for k, v in settings_of(run_overrides(runs[0])).items() if k not in across)
    return rows, (f"test set, best checkpoints of {len(runs)} runs in {path}, jobs "
                  f"{', '.join(describe(run, across) for run in runs)}; shared: {shared or 'no overrides'}\n"
                  f"single_best_run: job {describe(runs[winner], ())}\n{which_weights(best)}")


def describe(run: Path, keys: tuple) -> str:
    """`3 (seed=1)`: a job and its overrides (only `keys` if given)."""
    settings = settings_of(run_overrides(run))
    shown = [f"{k}={v}" for k, v in settings.items() if not keys or k in keys]
    return f"{Path(run).name} ({' '.join(shown) or 'no overrides'})"
