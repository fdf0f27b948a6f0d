"""`python train.py reproduce=<run dir>`: train a recorded run again, with its config, in a new folder.

Replicate before you extend: a result that does not come back when re-run is not a result.
The run's `.hydra/config.yaml` is read (untrusted: only allowlisted `_target_`s, runs/allowlist.py),
overrides given beside `reproduce=` are applied on top and listed (e.g. `trainer.deterministic=true`),
and the differences between then and now that can change the numbers are printed: the git
commit and uncommitted changes, and package versions (from the run's run_record.json).
With `trainer.deterministic=true` (in the recorded run and here), on the same machine and
CPU, the metrics come back equal.
"""

import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from ..runs.printed_command import printed_command
from ..runs.run_files import read_run_record
from ..runs.run_folder import refuse_empty_folder
from .run_record import code_state, package_versions

OWN_KEYS = ("reproduce", "note", "final", "paths")  # of this command, not of the recorded run


def reproduce_config(cfg: DictConfig) -> DictConfig:
    """The recorded run's config (+ this command's overrides) when `reproduce=` is given, else `cfg`."""
    from ..core.validate import ConfigError

    for key in ("resume", "reproduce"):  # `reproduce=$UNSET`: a mistake, not a request for a new run
        refuse_empty_folder(cfg, key)
    if not cfg.get("reproduce"):
        return cfg
    run_dir = Path(cfg.reproduce).resolve()
    from ..runs.allowlist import recorded_config

    recorded = recorded_config(run_dir, (  # everything in it gets built: only allowlisted targets
        f"reproduce={cfg.reproduce}: " "{config} does not exist. Give the folder of a run started by train.py "
        "(it holds .hydra/config.yaml), e.g. one listed by `python worklog.py`."), ConfigError)
    record = read_run_record(run_dir, ConfigError)  # damaged: said before anything is written
    changed = [o for o in HydraConfig.get().overrides.task if o.split("=", 1)[0].lstrip("+~") not in OWN_KEYS
               and not o.split("=", 1)[0].lstrip("+~").startswith("paths.")]
    for override in changed:
        key = override.split("=", 1)[0].lstrip("+~")
        if override.startswith("~"):
            OmegaConf.update(recorded, key, None, force_add=True)
        else:
            OmegaConf.update(recorded, key, OmegaConf.select(cfg, key), force_add=True, merge=False)
    for key in OWN_KEYS:
        OmegaConf.update(recorded, key, cfg.get(key), force_add=True, merge=False)
    OmegaConf.update(recorded, "resume", None, force_add=True)
    # the new folder's config is what trains (eval.py, resume= and another reproduce= read it)
    OmegaConf.save(recorded, Path(HydraConfig.get().runtime.output_dir) / ".hydra" / "config.yaml")
    print(f"reproducing {run_dir}" + (f" with {' '.join(changed)}" if changed else "") + " in a new run folder")
    for difference in differences(record, run_dir):
        print(f"warning: {difference}", file=sys.stderr)
    return recorded


def differences(record: dict, run_dir: Path | None = None) -> list[str]:
    """What differs now from the recorded code and packages (sentences); [] when nothing or no record."""
    if not record:
        return ["the run has no run_record.json: its code and package versions are unknown"]
    found = []
    then, now = record.get("code", {}), code_state()
    if then.get("git") != now.get("git"):
        found.append(f"the code differs: the run was at commit {then.get('git')}, the project is at {now.get('git')}")
    elif then.get("dirty") or now.get("dirty"):
        found.append("the run or the project has uncommitted changes")
    if then.get("patch") and run_dir is not None:
        found.append("to run the run's own code, check out its commit and apply its changes (new files "
                     f"included) first: git stash -u && {printed_command('git', 'checkout', str(then.get('git')))} && "
                     + printed_command("git", "apply", str(run_dir / then["patch"])))
    versions = package_versions()
    for name, version in (record.get("packages") or {}).items():
        if versions.get(name) != version:
            found.append(f"{name} is {versions.get(name)} now, the run used {version}")
    return found
