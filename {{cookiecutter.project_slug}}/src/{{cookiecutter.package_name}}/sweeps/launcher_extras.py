"""A launcher or search strategy chosen on the command line but not installed: say which extra installs it.

Without this, `python train.py -m hydra/launcher=joblib` on a plain install fails with Hydra's
"Could not find 'hydra/launcher/joblib'", which does not say that the launchers are optional
extras of this project (pyproject.toml), and `-m sweep=random` without optuna ends in a raw
`ModuleNotFoundError: No module named 'optuna'` once the sweep starts. Hydra cannot tell a
missing plugin from a typo, so the command line is checked before Hydra composes anything.
"""

import importlib

# launcher option (Hydra's own, or ours in configs/hydra/launcher/) -> (the extra, the plugin it installs)
LAUNCHER_EXTRAS = {
    "joblib": ("sweeps", "hydra_plugins.hydra_joblib_launcher"),
    "submitit_local": ("slurm", "hydra_plugins.hydra_submitit_launcher"),
    "submitit_slurm": ("slurm", "hydra_plugins.hydra_submitit_launcher"),
    "slurm": ("slurm", "hydra_plugins.hydra_submitit_launcher"),
    "ray": ("ray", "hydra_plugins.hydra_ray_launcher"),
    "ray_cluster": ("ray", "hydra_plugins.hydra_ray_launcher"),
}
# Every option of configs/sweep/ runs our search sweeper (src/hydra_plugins/search_sweeper), built on Optuna.
SWEEP_EXTRA = ("sweeps", "optuna")


def missing_launcher_plugin(arguments: list[str]) -> str | None:
    """The message for a `hydra/launcher=<name>` argument whose plugin cannot be imported, else None."""
    for argument in arguments:
        key, _, name = argument.lstrip("+~").partition("=")
        if key == "sweep" and name not in ("", "null"):
            extra, plugin = SWEEP_EXTRA
            what, otherwise = "a search strategy whose package", "Without sweep=, -m runs Hydra's grid of the values given"
        elif key == "hydra/launcher" and name in LAUNCHER_EXTRAS:
            extra, plugin = LAUNCHER_EXTRAS[name]
            what, otherwise = "a launcher plugin that", "Without a launcher option a sweep runs its jobs one after another"
        else:
            continue
        try:
            importlib.import_module(plugin)
        except ImportError:
            return (f"error: {key}={name} needs {what} is not installed ({plugin}). "
                    f"It is an optional extra of this project: pip install -e \".[{extra}]\" "
                    f"(docs/sweeps.md). {otherwise}.")
    return None
