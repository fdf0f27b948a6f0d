"""Checks of the data: finite inputs, their scale, the labels, class balance, leakage between the splits,
and the classic baselines (scikit-learn, checks/baselines.py) on the same split: is a network needed?"""


import torch

from ..runs.printed_command import same_setup_command
from .baselines import baseline_accuracies, baseline_regression_scores
from .verdict import FAIL, PASS, WARN, Verdict


def finite_inputs(splits: dict) -> Verdict:
    """No NaN or Inf anywhere: one NaN input turns the loss, and then every weight, into NaN."""
    bad = {name: int((~torch.isfinite(x.float())).sum()) for name, (x, _) in splits.items()}
    total = sum(bad.values())
    status = PASS if total == 0 else FAIL
    advice = "" if status == PASS else (
        f"Inputs hold NaN or Inf ({', '.join(f'{k}: {v}' for k, v in bad.items() if v)} values): "
        "fix or drop them in the data code (missing values, division by zero in normalization)."
    )
    return Verdict(status, f"{total} non-finite values", "0", advice, bad)


def input_statistics(splits: dict) -> Verdict:
    """Reports the input range and per-channel mean/std; warns when inputs are far from unit scale."""
    x = splits["train"][0].float()
    x = x[torch.isfinite(x).flatten(1).all(1)] if x.ndim > 1 else x
    channels = x.transpose(0, 1).flatten(1) if x.ndim > 2 else x.flatten(0).unsqueeze(0)
    mean, std = channels.mean(1), channels.std(1)
    low, high = float(x.min()), float(x.max())
    far = max(abs(low), abs(high)) > 100 or bool((std == 0).any())
    status = WARN if far else PASS
    advice = "" if not far else (
        "Inputs are far from unit scale (or a channel is constant): normalize them with the training split's "
        f"statistics: `{same_setup_command('train.py', 'data.normalize=per_channel')}` (or data.normalize=global)."
    )
    shown = ", ".join(f"{m:.2f}/{s:.2f}" for m, s in zip(mean.tolist()[:4], std.tolist()[:4], strict=True))
    return Verdict(
        status, f"range [{low:.3g}, {high:.3g}]; mean/std per channel {shown}", "|x| <= 100, no constant channel",
        advice, {"min": low, "max": high, "mean": mean.tolist(), "std": std.tolist()},
    )


def label_set(splits: dict, num_classes: int) -> Verdict:
    """Every label is one of the declared classes, and the training set holds every class."""
    found = sorted(set().union(*(set(y.unique().tolist()) for _, y in splits.values())))
    outside = [label for label in found if not 0 <= label < num_classes]
    missing = sorted(set(range(num_classes)) - set(splits["train"][1].unique().tolist()))
    status = FAIL if outside else WARN if missing else PASS
    advice = ""
    if outside:
        advice = f"Labels {outside[:10]} are outside 0..{num_classes - 1}: num_classes or the label encoding is wrong."
    elif missing:
        advice = f"Classes {missing[:10]} never occur in training: the model cannot learn them (split, or num_classes)."
    return Verdict(
        status, f"{len(found)} labels, {min(found)}..{max(found)}", f"exactly 0..{num_classes - 1}", advice,
        {"labels": found},
    )


def class_balance(train_y: torch.Tensor, num_classes: int) -> Verdict:
    """Reports how unequal the class frequencies are (most / least frequent class)."""
    counts = torch.bincount(train_y[(train_y >= 0) & (train_y < num_classes)], minlength=num_classes)
    ratio = float(counts.max()) / max(1.0, float(counts.min()))
    status = PASS if ratio <= 3 else WARN
    advice = "" if status == PASS else (
        f"The most frequent class has {ratio:.1f}x the examples of the rarest: watch per-class accuracy or "
        "balanced accuracy, and consider class weights in the loss or a balanced sampler."
    )
    return Verdict(status, f"most/least frequent = {ratio:.2f}", "<= 3", advice, {"counts": counts.tolist()})


def leakage(splits: dict) -> Verdict:
    """No example of val/test is an exact copy of a training example (leakage inflates val/test scores)."""

    def rows(x):
        return {row.numpy().tobytes() for row in x.reshape(len(x), -1).float()}

    train = rows(splits["train"][0])
    shared = {name: len(rows(x) & train) for name, (x, _) in splits.items() if name != "train"}
    fraction = max((shared[name] / len(splits[name][0]) for name in shared), default=0.0)
    status = PASS if fraction == 0 else WARN if fraction <= 0.01 else FAIL
    advice = "" if status == PASS else (
        f"Val/test examples also in training ({shared}): deduplicate before splitting, or split by "
        "source (patient, recording, ...) so near-copies stay on one side."
    )
    return Verdict(status, ", ".join(f"{k}: {v} shared" for k, v in shared.items()), "0 shared with train", advice, shared)


def classic_baselines(splits: dict) -> Verdict:
    """scikit-learn baselines on the same split: the bar the network has to clear (see checks/baselines.py)."""
    if splits["train"][1].is_floating_point():  # regression targets
        return regression_baselines(splits)
    scores = baseline_accuracies(*splits["train"], *splits["test"])
    majority = scores["baseline/majority_acc"]
    best = max(scores["baseline/logreg_acc"], scores["baseline/svc_acc"])
    status = PASS if best >= majority + 0.05 else WARN
    advice = "" if status == PASS else (
        f"No classic model beats guessing the most frequent class ({best:.3f} vs {majority:.3f}): the inputs "
        "carry no signal about the labels as given. Check the pairing of inputs and labels."
    )
    shown = ", ".join(f"{k.split('/')[1].removesuffix('_acc')} {v:.3f}" for k, v in scores.items())
    return Verdict(status, f"test acc: {shown}", "best > majority + 0.05; the network should beat the best",
                   advice, scores)


def regression_baselines(splits: dict) -> Verdict:
    """The mean predictor and ridge regression: does a linear model find any signal in the inputs?"""
    scores = baseline_regression_scores(*splits["train"], *splits["test"])
    mean, ridge = scores["baseline/mean_r2"], scores["baseline/ridge_r2"]
    status = PASS if ridge >= mean + 0.05 else WARN
    advice = "" if status == PASS else (
        f"Ridge regression does no better than predicting the mean (R2 {ridge:.3f} vs {mean:.3f}): the inputs carry "
        "no linear signal about the targets. Check the pairing of inputs and targets (a network may still find "
        "a non-linear one)."
    )
    shown = ", ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in scores.items())
    return Verdict(status, f"test: {shown}", "ridge r2 > mean r2 + 0.05; the network should beat ridge",
                   advice, scores)
