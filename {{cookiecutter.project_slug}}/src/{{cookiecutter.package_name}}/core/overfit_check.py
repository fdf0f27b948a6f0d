"""`overfit=true`: turn any run into the overfitting check, on its own data and model.

The methodology's first step: before a long run, make sure the model can memorize a handful
of examples. A model that cannot has a bug (or far too little capacity, or a bad learning
rate), and it shows in seconds. This is a mode of the run, not a dataset: the composed
config (any data option, any model) is changed here, in one visible place, into the check.
"""

from omegaconf import DictConfig, open_dict

# Everything that helps generalization and hides memorization is switched off.
NO_REGULARIZATION = {"weight_decay": 0.0, "l1": 0.0, "dropout": 0.0, "label_smoothing": 0.0}


def overfit_check_config(cfg: DictConfig) -> DictConfig:
    """The config of the overfitting check for this run's data and model (see train.yaml: overfit_check)."""
    settings = cfg.overfit_check
    check = cfg.copy()
    with open_dict(check):
        check.data.subset, check.data.fraction, check.data.label_noise = settings.examples, 1.0, 0.0
        if check.data.get("unlabeled_fraction"):  # every example labelled; no pseudo-label rounds
            check.data.unlabeled_fraction = 0.0
        if check.data.get("unlabeled_path"):
            check.data.unlabeled_path = None
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
        if (check.get("pseudo_label") or {}).get("rounds"):
            print("note: pseudo_label.rounds does not apply to the overfitting check: no rounds.")
            check.pseudo_label.rounds = 0
{%- endif %}
        check.regularization = dict(NO_REGULARIZATION)
        check.augmentation, check.scheduler = None, None
{%- if cookiecutter.__with_curriculum == "yes" %}
        check.curriculum = None
{%- endif %}
        check.trainer.max_epochs, check.trainer.max_steps = -1, settings.max_steps
        check.trainer.limit_val_batches, check.trainer.enable_checkpointing = 0, False
        check.trainer.log_every_n_steps = min(check.trainer.log_every_n_steps, 10)
{%- if cookiecutter.__with_checks == "yes" %}
        check.baselines = False  # and no callbacks but the verdict's (below)
{%- endif %}
        verdict = {"_target_": f"{__package__}.overfit_verdict.OverfitVerdict",
                   "loss_below": settings.get("loss_below"), "loss_fraction": settings.get("loss_fraction", 0.01)}
        progress_bar = (cfg.callbacks or {}).get("progress_bar")
        check.callbacks = {"overfit_verdict": verdict} | ({"progress_bar": progress_bar} if progress_bar else {})
    return check
