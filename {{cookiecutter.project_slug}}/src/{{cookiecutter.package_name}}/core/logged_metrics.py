"""Which metrics a run logs, which of them are better lower, and what `val/acc` means on regression.

One place for each rule, importing nothing heavy: validation reads it in a run's first second
(a misspelled metric fails before torch loads), core/module.py builds its metrics from TASK_METRICS,
each of our callbacks declares what it logs in a `logs` attribute taken from CALLBACK_LOGS, and
checkpoints, early stopping, the sweepers, the sweep summary and the target all ask
`lower_is_better`. A user's own callback declares its keys the same way (`logs = ("val/my_score",)`)
and can then be monitored and optimized.
"""

from omegaconf import OmegaConf

PACKAGE = __package__.partition(".")[0]  # the project's package: its callbacks declare their metrics below

# What the module logs under val/ and test/ beside the loss, per task (module.task_metrics builds them).
TASK_METRICS = {"classification": ("acc",), "regression": ("rmse", "mae", "r2")}
# A metric whose name (after the last "/") ends so is better lower; every other metric is better higher.
LOWER_IS_BETTER = ("loss", "nll", "mse", "mae", "rmse", "error", "gap", "penalty")
# What each of our callbacks logs, read by validation without importing it: names under train/ or val/
# are logged while training (a checkpoint or early stopping can watch them), the others reach
# metrics.json at the end. "*" stands for each metric of the task; a name ending in "/" for every name below it.
CALLBACK_LOGS = {
{%- if cookiecutter.__with_diagnostics == "yes" %}
    "FitDiagnosis": ("fit/train_*", "fit/train_loss", "fit/gap", "fit/underfit", "fit/overfit", "fit/train_examples"),
    "SliceAccuracy": ("test/slice/",),
{%- endif %}
}


def lower_is_better(metric: str) -> bool:
    """Is a smaller value of this metric better (a loss, an error, a gap)? Decided by its name, here only."""
    return str(metric).rstrip("/").rsplit("/", 1)[-1].endswith(LOWER_IS_BETTER)


def mode(metric: str) -> str:
    """Lightning's `mode` for a checkpoint or early stopping watching `metric`: min or max."""
    return "min" if lower_is_better(metric) else "max"


def task_metric(metric: str, task: str | None) -> str:
    """What a metric name means on this task: regression has no accuracy, so an accuracy (the default
    `optimized_metric=val/acc`, `fit/train_acc`) means its R2, which is also higher-is-better."""
    if task == "regression" and str(metric).endswith("acc"):
        return str(metric).removesuffix("acc") + "r2"
    return str(metric)


def written_metric(metric: str, written) -> str:
    """The key of a finished run's metrics.json (`written`) that `metric` names: itself, or on a
    regression run (no accuracy written) its R2."""
    if metric not in written and task_metric(metric, "regression") in written:
        return task_metric(metric, "regression")
    return metric


def expand(names, task: str) -> list[str]:
    """Declared names for this task: "*" replaced by each of its metrics, accuracies read as the task means them."""
    return [task_metric(name.replace("*", metric), task) for name in names
            for metric in (TASK_METRICS[task] if "*" in name else ("",))]


def module_logs(task: str, l1: bool, validates: bool, beside=()) -> dict[str, list[str]]:
    """What the module logs: {"monitor": logged while training, "result": written to metrics.json}; `beside`:
    what a callback logs next to it under val/ and test/ (e.g. f1)."""
    metrics = ["loss", *TASK_METRICS[task], *beside]
    train = ["train/loss", *(["train/acc"] if task == "classification" else []), *(["train/l1_penalty"] if l1 else [])]
    splits = ("val", "test") if validates else ("test",)  # val/ stays monitorable without validation (strict: false)
    return {"monitor": train + [f"val/{m}" for m in metrics], "result": ["train/loss"] + [f"{s}/{m}" for s in splits
                                                                                       for m in metrics]}
{%- if cookiecutter.__with_checks == "yes" %}


def baseline_logs(task: str) -> list[str]:
    """What checks/baselines.py writes: majority, logistic regression and SVC accuracy, or mean and ridge RMSE and R2,
    on the test split (baseline/<name>_<m>) and the validation split (baseline/val/<name>_<m>)."""
    scores = [("majority", "acc"), ("logreg", "acc"), ("svc", "acc")] if task == "classification" else [
        (name, m) for name in ("mean", "ridge") for m in ("rmse", "r2")]
    return [f"baseline/{split}{name}_{m}" for split in ("", "val/") for name, m in scores]
{%- endif %}

{%- if cookiecutter.__with_ensembles == "yes" %}


def ensemble_logs(task: str, methods) -> list[str]:
    """What ensembles/ensemble.py writes per method: accuracy and NLL (a vote: accuracy only), or RMSE and R2 (no vote;
    the soft row is the mean prediction)."""
    if task == "regression":
        rows = [{"soft": "mean"}.get(method, method) for method in methods if method != "hard"]
        return [f"ensemble/{row}/{m}" for row in rows for m in ("rmse", "r2")]
    return [f"ensemble/{method}/{m}" for method in methods for m in ("acc", "nll") if (method, m) != ("hard", "nll")]
{%- endif %}


def config_task(cfg) -> str | None:
    """The task a config trains: `data.task`, classification for our other datamodules, None (either) for a
    user's own datamodule (its class says, and validation does not import it)."""
    data = cfg.get("data") or {}
    if data.get("task"):
        return str(data.get("task"))
    return "classification" if str(data.get("_target_", "")).startswith(PACKAGE + ".") else None


def declared_by(callback, own: bool = True) -> tuple:
    """What a configured callback declares it logs: ours from CALLBACK_LOGS (no import), Lightning's nothing
    of interest, a user's own (`own`) from its class's `logs` attribute (importing that class)."""
    target = str(callback.get("_target_", ""))
    if target.startswith(PACKAGE + "."):
        return CALLBACK_LOGS.get(target.rsplit(".", 1)[-1], ())
    if not own or not target or target.startswith(("lightning.", "pytorch_lightning.")):
        return ()
    from hydra.utils import get_class

    try:
        return tuple(getattr(get_class(target), "logs", ()))
    except Exception:  # a class that does not import: core/target_arguments.py reports it
        return ()


def known_metrics(cfg, own: bool = True) -> dict[str, list[str]]:
    """The names of the metrics a run with this config produces, by when they exist, from what logs them.

    "monitor": logged while training, what early stopping and checkpoints can watch;
    "result": the keys of metrics.json, one of which `optimized_metric` returns to sweepers.
    A name ending in "/" stands for every name below it (per class, per slice). A feature that logs a
    metric declares it (CALLBACK_LOGS, a callback's `logs`, the functions above), never here.
    `own=False`: without the metrics of a user's own callbacks.
    """
    callbacks = [c for c in (cfg.get("callbacks") or {}).values() if hasattr(c, "get")]

    def configured(class_name: str) -> list:
        return [c for c in callbacks if str(c.get("_target_", "")).endswith("." + class_name)]

    if cfg.get("overfit") or configured("OverfitVerdict"):  # the overfitting check (core/overfit_check.py): its verdict
        return {"monitor": ["train/loss", "train/acc"], "result": ["train/loss", "overfit/passed"]}
    validates = OmegaConf.select(cfg, "trainer.limit_val_batches") != 0  # 0: no validation, no val/ or fit/ results
    l1 = OmegaConf.select(cfg, "regularization.l1")
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
    rounds = OmegaConf.select(cfg, "pseudo_label.rounds")
{%- endif %}
    monitor, result = [], []
    for task in [config_task(cfg)] if config_task(cfg) else list(TASK_METRICS):
        evaluation = [f"{name}{end}" for c in configured("EvaluationMetrics") for name in (c.get("metrics") or {})
                      for end in ("", "/")] if task == "classification" else []  # e.g. f1 (per class: f1/<class>)
        logs = module_logs(task, isinstance(l1, (int, float)) and l1 > 0, validates, evaluation)
        monitor += logs["monitor"]
        result += logs["result"]
        for callback in callbacks:
            names = expand(declared_by(callback, own), task)
            monitor += [name for name in names if name.startswith(("train/", "val/"))]
            result += [name for name in names if validates or not name.startswith(("val/", "fit/"))]
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
        result += ["pseudo/"] if task == "classification" and isinstance(rounds, int) and rounds > 0 else []
{%- endif %}
{%- if cookiecutter.__with_checks == "yes" %}
        result += baseline_logs(task) if cfg.get("baselines", True) else []
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
        for ensemble in configured("CheckpointEnsemble") if configured("ModelCheckpoint") else []:
            result += ensemble_logs(task, ensemble.get("methods") or []) if ensemble.get("k") else []
{%- endif %}
    return {"monitor": list(dict.fromkeys(monitor)), "result": list(dict.fromkeys(result))}


def is_under(name, known: list[str]) -> bool:
    """Is `name` one of the known metric names, or below one that ends in "/"?"""
    if not isinstance(name, str) or name.endswith("/"):
        return False
    return name in known or any(k.endswith("/") and name.startswith(k) for k in known)


def names(known: list[str]) -> str:
    return ", ".join(k + "..." if k.endswith("/") else k for k in known)


def metric_problems(cfg) -> list[str]:
    """Every metric the config names (a monitor and its mode, optimized_metric, the target) is one this run
    logs, watched in the right direction: one sentence per problem, as core/validate.py reports them."""
    known, problems = known_metrics(cfg), []
    ours = known_metrics(cfg, own=False)["monitor"]  # a user's own metric: its direction is the user's `mode`
    overfit_check = "overfit/passed" in known["result"]  # it returns its train/loss whatever this says (run.py)
    for name, callback in (cfg.get("callbacks") or {}).items() if not overfit_check else []:
        watched = callback.get("monitor") if hasattr(callback, "get") else None
        if watched is None:
            continue
        if not is_under(watched, known["monitor"]):
            problems.append(f"callbacks.{name}.monitor={watched!r} is not allowed: a metric logged while training: "
                            f"{names(known['monitor'])}.")
        elif (is_under(watched, ours) and callback.get("mode") in ("min", "max") and callback.get("mode") != mode(watched)
              and not all(OmegaConf.is_interpolation(callback, key) for key in ("monitor", "mode"))):  # follows another
            problems.append(f"callbacks.{name}.mode={callback.get('mode')!r} watches {watched} the wrong way: "
                            f"{watched} is better {'lower' if lower_is_better(watched) else 'higher'}, so use "
                            f"callbacks.{name}.mode={mode(watched)}.")
    unvalidated = " (no val/ metrics: trainer.limit_val_batches=0)" if OmegaConf.select(
        cfg, "trainer.limit_val_batches") == 0 else ""
    # where an R2 is written, the accuracy of the same name means it (task_metric): the default val/acc on regression
    result = known["result"] + [m.removesuffix("r2") + "acc" for m in known["result"] if m.endswith("r2")]
    optimized = cfg.get("optimized_metric")
    if not (overfit_check or is_under(optimized, result)):
        problems.append(f"optimized_metric={optimized!r} is not allowed: a metric this run writes to metrics.json"
                        f"{unvalidated}: {names(known['result'])}.")
    target = cfg.get("target")
    metric = target.get("metric") if hasattr(target, "get") else None
    if isinstance(metric, str) and not overfit_check and not is_under(metric, result):
        problems.append(f"target.metric={metric!r} is not allowed: a metric this run writes to metrics.json"
                        f"{unvalidated}: {names(known['result'])}.")
    return problems
