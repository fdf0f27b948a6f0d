"""The pseudo_label block and data.unlabeled_* (pseudo_labels/rounds.py), checked with the core's (validation.py)."""

from ..core.config_values import cfg_value, is_number, is_whole


def pseudo_label_problems(cfg) -> list[str]:
    """data.unlabeled_fraction/path and the pseudo_label block: ranges, and rounds need examples without labels."""
    hidden, pool = cfg_value(cfg, "data.unlabeled_fraction"), cfg_value(cfg, "data.unlabeled_path")
    rounds, threshold = cfg_value(cfg, "pseudo_label.rounds"), cfg_value(cfg, "pseudo_label.threshold")
    problems = []
    if hidden is not None and not (is_number(hidden) and 0 <= hidden < 1):
        problems.append(f"data.unlabeled_fraction={hidden!r} is not allowed: a fraction of the training labels to "
                        "hide, 0 <= unlabeled_fraction < 1 (e.g. 0.9).")
    elif is_number(hidden) and hidden > 0 and cfg_value(cfg, "data.task") not in (None, "classification"):
        problems.append(f"data.unlabeled_fraction={hidden!r} applies to classification only (data.task="
                        f"{cfg_value(cfg, 'data.task')}): pseudo-labels are predicted classes.")
    if rounds is not None and not (is_whole(rounds) and rounds >= 0):
        problems.append(f"pseudo_label.rounds={rounds!r} is not allowed: a whole number of rounds >= 0 (0: off).")
    elif is_whole(rounds) and rounds > 0 and not (is_number(hidden) and hidden > 0) and not pool:
        problems.append(f"pseudo_label.rounds={rounds} needs examples without labels to pseudo-label: give them "
                        "with data.unlabeled_path=<file or folder of inputs>, or hide some with "
                        "data.unlabeled_fraction=<fraction of the training labels, e.g. 0.9>.")
    if pool and is_number(hidden) and hidden > 0:
        problems.append(f"data.unlabeled_path={pool} and data.unlabeled_fraction={hidden} both give unlabelled "
                        "examples: use one of them.")
    if threshold is not None and not (is_number(threshold) and 0 <= threshold <= 1):
        problems.append(f"pseudo_label.threshold={threshold!r} is not allowed: the softmax probability a "
                        "prediction needs to become a label, a number in [0, 1] (e.g. 0.95).")
    return problems
