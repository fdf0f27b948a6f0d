"""A launcher chosen on the command line whose plugin is not installed: say which extra installs it.

Without this, `python train.py -m hydra/launcher=joblib` on a plain install fails with Hydra's
"Could not find 'hydra/launcher/joblib'", which does not say that the launchers are optional
extras of this project (pyproject.toml). Hydra cannot tell a missing plugin from a typo, so the
command line is checked before Hydra composes anything.
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


def missing_launcher_plugin(arguments: list[str]) -> str | None:
    """The message for a `hydra/launcher=<name>` argument whose plugin cannot be imported, else None."""
    for argument in arguments:
        key, _, name = argument.lstrip("+~").partition("=")
        if key != "hydra/launcher" or name not in LAUNCHER_EXTRAS:
            continue
        extra, plugin = LAUNCHER_EXTRAS[name]
        try:
            importlib.import_module(plugin)
        except ImportError:
            return (f"error: hydra/launcher={name} needs a launcher plugin that is not installed ({plugin}). "
                    f"It is an optional extra of this project: pip install -e \".[{extra}]\" "
                    "(README: Sweeps). Without a launcher option a sweep runs its jobs one after another.")
    return None
