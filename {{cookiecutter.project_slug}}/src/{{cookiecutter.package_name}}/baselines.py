"""Classic (non-deep-learning) baselines on the same split: is a network needed at all?

Majority class (what a model that ignores its input gets), logistic regression (`logreg`,
a linear model) and an RBF support-vector machine (`svc`, a strong classic model for small
data), fitted on the flattened training inputs and scored on the test inputs. scikit-learn does the
work; this file only feeds it the datamodule's tensors. `python train.py` reports them as
`baseline/...` beside the network's `test/acc`; `python check.py` reports them as a check.
"""

import torch


def baseline_accuracies(train_x, train_y, test_x, test_y, max_train: int = 5000, seed: int = 0) -> dict:
    """Test accuracy of three scikit-learn classifiers -> {"baseline/<name>_acc": float}.

    The SVC uses gamma="scale" (1 / (features x input variance)): on the raw 0..16 digit
    pixels that is ~0.0004, the same model as the usual gamma=0.001, C=10, and it does not
    depend on how the inputs are scaled. An SVC costs O(n^2) in the training examples, so
    at most `max_train` of them are used (a seeded random subset).
    """
    from sklearn.dummy import DummyClassifier  # heavy imports only where used
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    if len(train_y) > max_train:
        keep = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(seed))[:max_train]
        train_x, train_y = train_x[keep], train_y[keep]
    features = train_x.reshape(len(train_x), -1).double().numpy()
    test_features = test_x.reshape(len(test_x), -1).double().numpy()
    models = {
        "majority": DummyClassifier(strategy="most_frequent"),
        "logreg": LogisticRegression(max_iter=1000),
        "svc": SVC(kernel="rbf", C=10.0, gamma="scale"),
    }
    return {
        f"baseline/{name}_acc": float(model.fit(features, train_y.numpy()).score(test_features, test_y.numpy()))
        for name, model in models.items()
    }


def baseline_metrics(data, max_examples: int = 20000) -> dict:
    """The baselines on the datamodule's whole train and test splits (what `python train.py` reports)."""
    train_x, train_y = data.split_tensors("train", max_examples)
    test_x, test_y = data.split_tensors("test", max_examples)
    return baseline_accuracies(train_x, train_y, test_x, test_y)


def report_baselines(trainer, data, metrics: dict) -> dict:
    """`python train.py`'s baselines: computed, logged beside the network's curves, compared with test/acc.

    Adds about a second to a run on the digits (scikit-learn import and three small fits).
    """
    baselines = baseline_metrics(data)
    for logger in trainer.loggers:  # TensorBoard scalars baseline/..., next to test/acc
        logger.log_metrics(baselines, step=trainer.global_step)
    network = metrics.get("test/acc")
    if network is None or not trainer.is_global_zero:
        return baselines
    majority = baselines["baseline/majority_acc"]
    best_name, best = max(
        ((key, value) for key, value in baselines.items() if key != "baseline/majority_acc"), key=lambda kv: kv[1]
    )
    if network < majority + 0.05:
        print(
            f"warning: test/acc {network:.4f} is no better than always answering the most frequent class "
            f"({majority:.4f}): the network learned nothing from its inputs. Do the labels belong to their "
            "inputs? `python check.py` runs the sanity checks."
        )
    elif network < best:
        name = best_name.removeprefix("baseline/").removesuffix("_acc")
        print(f"note: the classic model {name} ({best:.4f}) beats the network (test/acc {network:.4f}).")
    return baselines
