"""Classic (non-deep-learning) baselines on the same split: is a network needed at all?

Classification: majority class (what a model that ignores its input gets), logistic
regression (`logreg`, a linear model) and an RBF support-vector machine (`svc`, a strong
classic model for small data), scored by accuracy. Regression: the mean of the training
targets (`mean`, what ignoring the input gets: R2 about 0) and ridge regression on
standardized inputs (`ridge`, a linear model, its penalty chosen by cross-validation),
scored by RMSE and R2. All are fitted on the flattened training inputs and scored on the
test inputs (and, in a run, on the validation inputs too: `baseline/val/...`, what the stage
ladder's `floor: baseline` compares the network's val metric with). scikit-learn does the work; this file only feeds it the datamodule's tensors.
On large data they are fitted on a seeded random subset of at most `max_train` training
examples (an SVC costs O(n^2) in them), and say so once: "baselines used N of M ...".
`python train.py` reports them as `baseline/...` beside the network's `test/acc` (or
`test/r2`); `python check.py` reports them as a check.
"""

import math
from pathlib import Path

import torch

from ..core.logged_metrics import task_metric
from ..runs.printed_command import same_setup_command


def training_subset(train_x, train_y, max_train: int, seed: int = 0, of: int | None = None, notice: bool = True):
    """At most `max_train` training examples (a seeded random subset), and one printed notice
    when the baselines see fewer than all `of` training examples (default: all those given)."""
    total = of or len(train_y)
    if len(train_y) > max_train:
        keep = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(seed))[:max_train]
        train_x, train_y = train_x[keep], train_y[keep]
    if notice and len(train_y) < total:
        print(f"note: the baselines used {len(train_y)} of {total} training examples (a seeded random subset; "
              f"the cap is max_train={max_train} in checks/baselines.py).")
    return train_x, train_y


def baseline_accuracies(train_x, train_y, test_x, test_y, max_train: int = 5000, seed: int = 0,
                        of: int | None = None, notice: bool = True, val: tuple | None = None) -> dict:
    """Test accuracy of three scikit-learn classifiers -> {"baseline/<name>_acc": float}.

    The SVC uses gamma="scale" (1 / (features x input variance)): on the raw 0..16 digit
    pixels that is ~0.0004, the same model as the usual gamma=0.001, C=10, and it does not
    depend on how the inputs are scaled. max_train: an SVC costs O(n^2) in the training
    examples, so at most this many are used (a seeded random subset, with a printed notice).
    """
    from sklearn.dummy import DummyClassifier  # heavy imports only where used
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    train_x, train_y = training_subset(train_x, train_y, max_train, seed, of, notice)
    features = train_x.reshape(len(train_x), -1).double().numpy()
    models = {
        "majority": DummyClassifier(strategy="most_frequent"),
        "logreg": LogisticRegression(max_iter=1000),
        "svc": SVC(kernel="rbf", C=10.0, gamma="scale"),
    }
    scores = {}
    for name, model in models.items():
        model.fit(features, train_y.numpy())
        for prefix, (x, y) in {"": (test_x, test_y), "val/": val}.items() if val else {"": (test_x, test_y)}.items():
            scores[f"baseline/{prefix}{name}_acc"] = float(model.score(x.reshape(len(x), -1).double().numpy(), y.numpy()))
    return scores


def baseline_regression_scores(train_x, train_y, test_x, test_y, max_train: int = 20000, seed: int = 0,
                               of: int | None = None, notice: bool = True, val: tuple | None = None) -> dict:
    """Test RMSE and R2 of the mean predictor and of ridge regression -> {"baseline/<name>_<rmse|r2>": float}.

    max_train: at most this many training examples (a seeded random subset, with a printed notice).
    """
    import numpy as np  # heavy imports only where used
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, train_y = training_subset(train_x, train_y, max_train, seed, of, notice)
    features = train_x.reshape(len(train_x), -1).double().numpy()
    models = {
        "mean": DummyRegressor(strategy="mean"),
        "ridge": make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))),
    }
    scores = {}
    for name, model in models.items():
        model.fit(features, train_y.double().numpy())
        for prefix, (x, y) in {"": (test_x, test_y), "val/": val}.items() if val else {"": (test_x, test_y)}.items():
            predicted = model.predict(x.reshape(len(x), -1).double().numpy())
            scores[f"baseline/{prefix}{name}_rmse"] = float(mean_squared_error(y.double().numpy(), predicted) ** 0.5)
            scores[f"baseline/{prefix}{name}_r2"] = float(r2_score(y.double().numpy(), predicted))
    return scores


def baseline_metrics(data, max_examples: int = 20000, notice: bool = True, cache_dir: Path | None = None) -> dict:
    """The baselines on the datamodule's train and test splits (what `python train.py` reports).

    Data not in memory is read only up to its first `max_examples` per split; the fits then
    subsample the training examples (see `training_subset`). With `cache_dir`, the scores are
    kept in `<cache_dir>/baselines/<key>.json`, the key a sha256 of the train and test examples,
    the task, this file and scikit-learn's version: only the first run on a split pays for the fits.
    """
    in_memory = data.splits is not None  # then the whole training split costs nothing: subsample all of it
    train_x, train_y = data.split_tensors("train", None if in_memory else max_examples)
    test_x, test_y = data.split_tensors("test", max_examples)
    val = data.split_tensors("val", max_examples) if len(data.indices.get("val", ())) else None
    path = cached_path(cache_dir, data.task, train_x, train_y, test_x, test_y, val) if cache_dir else None
    cached = read_cached(path, data.task) if path and path.is_file() else None
    if cached is not None:
        if notice:
            print(f"baselines: cached by an earlier run on the same split ({path}; delete it to fit them again)")
        return cached
    total = len(data.indices["train"])
    if data.task == "regression":
        scores = baseline_regression_scores(train_x, train_y, test_x, test_y, of=total, notice=notice, val=val)
    else:
        scores = baseline_accuracies(train_x, train_y, test_x, test_y, of=total, notice=notice, val=val)
    if path:
        write_cached(path, scores)
    return scores


def cached_path(cache_dir: Path, task: str, train_x, train_y, test_x, test_y, val: tuple | None = None) -> Path:
    """Where the baselines of exactly these examples are kept (a change of data, split, code or version: a new file)."""
    import hashlib
    import importlib.metadata

    from ..core.data import examples_fingerprint

    key = hashlib.sha256("\n".join([
        task, examples_fingerprint(train_x, train_y), examples_fingerprint(test_x, test_y),
        examples_fingerprint(*val) if val else "no val",
        hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), importlib.metadata.version("scikit-learn"),
    ]).encode()).hexdigest()
    return Path(cache_dir) / "baselines" / f"{key[:32]}.json"


CACHED_KEYS = {  # what baseline_accuracies and baseline_regression_scores return, per task
    "classification": {"baseline/majority_acc", "baseline/logreg_acc", "baseline/svc_acc"},
    "regression": {"baseline/mean_rmse", "baseline/mean_r2", "baseline/ridge_rmse", "baseline/ridge_r2"},
}


def read_cached(path: Path, task: str) -> dict | None:
    """The cached scores, or None if absent or not what this file writes for `task`.

    Read from disk, so untrusted: exactly the keys of the task, each a finite number in its
    range (an accuracy in [0, 1], an R2 at most 1, an RMSE >= 0); anything else is refitted.
    """
    import json

    try:
        scores = json.loads(path.read_text())
    except (OSError, ValueError):
        return None

    def in_range(key, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return 0 <= value <= 1 if key.endswith("_acc") else value <= 1 if key.endswith("_r2") else value >= 0

    expected = CACHED_KEYS["regression" if task == "regression" else "classification"]
    with_val = expected | {key.replace("baseline/", "baseline/val/") for key in expected}  # data with a val split
    if not (isinstance(scores, dict) and set(scores) in (expected, with_val)
            and all(in_range(*kv) for kv in scores.items())):
        print(f"note: ignored the baselines cache {path}: not what checks/baselines.py writes (keys "
              f"{', '.join(sorted(expected))}, numbers in range); fitting them again")
        return None
    return {k: float(v) for k, v in scores.items()}


def write_cached(path: Path, scores: dict) -> None:
    import json
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")  # + rename: a parallel run reads all or nothing
        temporary.write_text(json.dumps(scores, indent=2) + "\n")
        os.replace(temporary, path)
    except OSError as error:  # the run's own results stand; only the cache is missing
        print(f"note: could not cache the baselines in {path}: {error}")


def report_baselines(trainer, data, metrics: dict, cache_dir: Path | None = None) -> dict:
    """`python train.py`'s baselines: computed, logged beside the network's curves, compared with test/acc
    (regression: test/r2; higher is better for both).

    Adds about a second to a run on the digits (scikit-learn import and three small fits), the first
    time only with `cache_dir` (train.py: `<paths.log_dir>/cache`).
    """
    baselines = baseline_metrics(data, notice=trainer.is_global_zero, cache_dir=cache_dir)  # one notice, not one per DDP process
    for logger in trainer.loggers:  # TensorBoard scalars baseline/..., next to test/acc
        logger.log_metrics(baselines, step=trainer.global_step)
    score = task_metric("acc", data.task)  # accuracy, or R2 on regression (core/logged_metrics.py)
    trivial, ignoring = ("majority", "always answering the most frequent class")
    if data.task == "regression":
        trivial, ignoring = "mean", "always predicting the mean training target"
    network = metrics.get(f"test/{score}")
    if network is None or not trainer.is_global_zero:
        return baselines
    floor = baselines[f"baseline/{trivial}_{score}"]
    best_name, best = max(
        ((key, value) for key, value in baselines.items() if key.endswith(f"_{score}")
         and not key.startswith("baseline/val/") and key != f"baseline/{trivial}_{score}"), key=lambda kv: kv[1]
    )
    if network < floor + 0.05:
        print(f"warning: test/{score} {network:.4f} is no better than {ignoring} ({floor:.4f}). "
              + likely_cause(metrics.get(f"fit/train_{score}"), metrics.get("fit/train_loss"),
                             math.log(data.num_classes) if score == "acc" else 1.0, floor, score,
                             fits=None if "fit/underfit" not in metrics else not metrics["fit/underfit"]))
    elif network < best:
        name = best_name.removeprefix("baseline/").removesuffix(f"_{score}")
        print(f"note: the classic model {name} ({best:.4f}) beats the network (test/{score} {network:.4f}).")
    return baselines


def likely_cause(train: float | None, train_loss: float | None, trivial_loss: float, floor: float, score: str,
                 fits: bool | None = None) -> str:
    """Why a network scores no better than the trivial baseline, the most likely cause first.

    The training numbers tell the causes apart: a training loss above that of a constant guess
    (`trivial_loss`: log(classes), or 1 for standardized regression targets) means unstable
    training (learning rate); a network that fits its training data but not the test set learned
    something that does not carry over (labels that do not belong to their inputs); a network that
    learned nothing at all is either (`python check.py`'s overfit_one_batch tells them apart).
    Whether it fits its training data is the fit diagnosis's verdict (`fits`: not fit/underfit) when
    there is one, so the two never disagree; else half-way from the trivial score (0 for R2 on the
    training data, whatever the test floor) to a perfect 1.
    """
    labels = "labels" if score == "acc" else "targets"
    checks = f"`{same_setup_command('check.py')}`"
    check = f"{checks} tells them apart: overfit_one_batch passes with shuffled labels, fails with a bad learning rate."
    if train is None or train_loss is None:
        return f"Check the training (learning rate, length) and that the {labels} belong to their inputs: {check}"
    if not math.isfinite(train_loss) or train_loss > 1.1 * trivial_loss:
        return (f"Its training loss ({train_loss:.3g}) is above that of a constant guess ({trivial_loss:.3g}): training "
                f"is unstable, most likely a learning rate far too high ({checks} runs the LR range test); "
                f"the {labels} come second.")
    if fits is None:
        floor = max(floor, 0.0) if score == "r2" else floor  # the mean's R2 on its own training data is 0
        fits = train > floor + 0.5 * (1 - floor)
    if fits:
        return (f"Yet it fits its training data (train {score} {train:.4f}): what it learned does not carry over. "
                f"Do the {labels} belong to their inputs (shuffled one without the other)? Are train and test alike? "
                f"{checks} runs the sanity checks.")
    return (f"It learned little even on its training data (train {score} {train:.4f}, loss {train_loss:.3g}): "
            f"a learning rate too low or too few steps, or {labels} that do not belong to their inputs. {check}")
