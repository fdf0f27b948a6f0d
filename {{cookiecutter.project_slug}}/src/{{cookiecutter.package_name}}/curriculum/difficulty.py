"""Curriculum learning: how hard each training example is, and how much of the set an epoch may use.

Difficulty scores (higher: harder), one per example of the training split, in its order:
  - `baseline_difficulty`: 1 - the probability a logistic regression gives the example's own
    label (regression: |residual| of ridge regression), CROSS-FITTED: the training split is cut
    in two halves, a model fitted on one half scores the other, and the other way round. A model
    scoring the examples it was fitted on would find them all easy (it has memorized their
    labels, wrong ones included); fitted on the other half, it disagrees with a wrong label.
  - `checkpoint_difficulty`: the per-example loss of a model of this project (a checkpoint).
  - `per_example_loss`: the current model's loss (self-paced learning re-ranks by it each epoch).
The pace: `fraction_at(epoch, ...)`, the fraction of the training set (easiest first) an epoch uses;
`easiest`: which examples that is (the fraction is taken in every class).
Our own code: no library ships curriculum learning; scikit-learn fits the baseline models.
"""

import math

import torch
import torch.nn.functional as F

ORDERS = ("easy_to_hard", "hard_to_easy", "self_paced")
SCORERS = ("baseline", "checkpoint")
PACINGS = ("linear", "root", "step")


def fraction_at(epoch: int, pacing: str, start_fraction: float, full_at_epoch: int, end_fraction: float) -> float:
    """The fraction of the training set (easiest first) that epoch `epoch` (0, 1, ...) draws from.

    linear: from start_fraction at epoch 0 to end_fraction at full_at_epoch, in equal steps;
    root:   the same path, but fast at first and slow near the end (square root of the progress);
    step:   start_fraction until full_at_epoch, then end_fraction at once (easy part first, then the rest).
    From full_at_epoch on it is end_fraction (below 1: the hardest examples are never used).
    """
    progress = 1.0 if epoch >= full_at_epoch else epoch / full_at_epoch
    if pacing == "root":
        progress = math.sqrt(progress)
    elif pacing == "step":
        progress = float(progress >= 1.0)
    return start_fraction + (end_fraction - start_fraction) * progress


def pool_size(fraction: float, count: int) -> int:
    """How many examples a fraction of `count` allows: never more than the fraction, at least one."""
    return max(1, min(count, int(fraction * count + 1e-9)))


def easiest(difficulty: torch.Tensor, fraction: float, labels: torch.Tensor | None = None,
            hardest_first: bool = False) -> torch.Tensor:
    """Positions of the easiest `fraction` of the examples (sorted positions; ties: the earlier first).

    With `labels` (classification) the fraction is taken in every class: the easiest examples of a
    whole set are often of a few easy classes, and a network that never sees the other classes
    in its first epochs ranks them hardest in self-paced learning, and never learns them.
    `hardest_first`: the hardest fraction instead (hard_to_easy).
    """
    groups = [torch.arange(len(difficulty))] if labels is None else \
        [torch.nonzero(labels == label).flatten() for label in labels.unique()]
    chosen = []
    for members in groups:
        ranked = members[torch.sort(difficulty[members], stable=True, descending=hardest_first).indices]
        chosen.append(ranked[: pool_size(fraction, len(ranked))])
    return torch.cat(chosen).sort().values


def halves(count: int, seed: int) -> torch.Tensor:
    """A seeded half of 0..count-1, as a boolean mask (True: the first half)."""
    mask = torch.zeros(count, dtype=torch.bool)
    mask[torch.randperm(count, generator=torch.Generator().manual_seed(seed))[: count // 2]] = True
    return mask


def baseline_difficulty(x: torch.Tensor, y: torch.Tensor, task: str, seed: int = 0,
                        max_fit: int = 20000) -> tuple[torch.Tensor, torch.Tensor]:
    """(difficulty per example, the half each example is in), cross-fitted (see the top).

    Classification: 1 - p(given label) from a logistic regression on the flattened, standardized
    inputs (0: certain of the label, 1: sure it is another class). Regression: |residual| of ridge
    regression, in the targets' units. Each half's model is fitted on at most `max_fit` examples
    of the other half (a seeded subset), and scores every example of its own half.
    """
    import numpy as np  # heavy imports only where used
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = x.reshape(len(x), -1).double().numpy()
    targets = y.numpy()
    first = halves(len(y), seed).numpy()
    difficulty = np.zeros(len(y))
    for scored in (first, ~first):
        fit = np.flatnonzero(~scored)  # the OTHER half: no example is scored by a model fitted on it
        if len(fit) > max_fit:
            fit = np.random.default_rng(seed).choice(fit, max_fit, replace=False)
        if not scored.any() or len(fit) == 0:
            continue  # a single training example: nothing to fit on, difficulty 0
        if task == "regression":
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
            predicted = model.fit(features[fit], targets[fit]).predict(features[scored])
            residual = np.abs(predicted.reshape(targets[scored].shape) - targets[scored])
            difficulty[scored] = residual.reshape(int(scored.sum()), -1).mean(1)
            continue
        one_class = len(np.unique(targets[fit])) < 2  # logistic regression needs two classes to fit
        model = DummyClassifier(strategy="prior") if one_class else LogisticRegression(max_iter=1000)
        model = make_pipeline(StandardScaler(), model).fit(features[fit], targets[fit])
        probabilities = model.predict_proba(features[scored])
        column = {label: i for i, label in enumerate(model.classes_)}
        given = [probabilities[row, column[label]] if label in column else 0.0  # a class the other half lacks
                 for row, label in enumerate(targets[scored])]
        difficulty[scored] = 1.0 - np.asarray(given)
    return torch.tensor(difficulty, dtype=torch.float32), torch.from_numpy(first)


@torch.no_grad()
def per_example_loss(module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The module's loss on each example (eval mode: no dropout, running batch-norm statistics).

    Classification: cross-entropy with the given label; regression: squared error on the
    standardized scale the module trains on. The module's train/eval mode is restored after.
    """
    was_training = module.training
    module.eval()
    losses = []
    for start in range(0, len(y), batch_size):
        inputs, targets = x[start : start + batch_size].to(module.device), y[start : start + batch_size]
        outputs = module(inputs).float().cpu()
        if module.task == "classification":
            losses.append(F.cross_entropy(outputs, targets, reduction="none"))
        else:
            error = (outputs.reshape(targets.shape) - targets) / module.target_std.cpu()
            losses.append(error.square().reshape(len(targets), -1).mean(1))
    module.train(was_training)
    return torch.cat(losses) if losses else torch.zeros(0)


def checkpoint_difficulty(path, data, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The per-example loss of the model in checkpoint `path` (which must fit this data)."""
    from ..runs.checkpoints import CheckpointError, load_classifier, read_checkpoint

    checkpoint = read_checkpoint(path)
    facts = checkpoint["hyper_parameters"].get("data", {})
    if list(facts.get("in_shape", [])) != list(data.in_shape) or facts.get("num_outputs") != data.num_outputs:
        raise CheckpointError(
            f"curriculum.checkpoint={path} was trained on other data (inputs {facts.get('in_shape')}, "
            f"{facts.get('num_outputs')} outputs; this data: {list(data.in_shape)}, {data.num_outputs}): it cannot "
            "score these examples. Give a checkpoint trained on this data, or use curriculum.scorer=baseline."
        )
    return per_example_loss(load_classifier(path), x, y)
