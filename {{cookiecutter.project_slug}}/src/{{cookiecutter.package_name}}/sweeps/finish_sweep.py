"""Finish a stopped or killed sweep: its own command again, with `hydra.sweep.dir=<its multirun folder>`.

Hydra's basic sweeper (a grid: `-m seed=0,1 model=tiny,small`) numbers the jobs of one command line
the same way every time, and job N writes into `<multirun folder>/N`. Given the folder of an earlier
sweep, each job looks at what its earlier attempt left there (`continue_earlier_attempt`):
  finished (metrics.json)       kept as it is: not trained again (runs/resume.py: "nothing to do")
  stopped with a checkpoint     continues from its newest checkpoint (`resume=<its folder>`, runs/resume.py)
  stopped before a checkpoint   starts again (the unfinished first epoch's TensorBoard events removed)
  never started                 runs
and the summary (sweeps/summary.py) then covers every job. Another command line would number other
jobs, so it is refused before anything runs (`sweep_to_finish_problem`), with the command that
finishes the sweep. Hydra rewrites each job's `.hydra/` with the same content (same command, same
configs/). Our own code: Hydra starts every sweep from nothing.
"""

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from ..runs.printed_command import printed_command

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
SET_BY_HYDRA = ("hydra.sweep.dir", "hydra.mode")  # where and how: set by the command that finishes the sweep


def continue_earlier_attempt(cfg: DictConfig) -> DictConfig:
    """In a sweep: `resume=<this job's folder>` when an earlier attempt of this job left a result or a checkpoint."""
    hydra = HydraConfig.get()
    if hydra.mode != RunMode.MULTIRUN or cfg.get("resume"):
        return cfg
    job_dir = Path(hydra.runtime.output_dir)
    if not any((job_dir / name).exists() for name in ("metrics.json", "stages.json")) and not any(
            job_dir.glob("checkpoints/*.ckpt")):  # stages.json: a ladder (stages/ladder.py) resumes from its stages
        for events in job_dir.glob("events.out.tfevents.*"):  # a first epoch cut short: its steps come again
            events.unlink()
        return cfg
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.resume = str(job_dir)
    return cfg


def finish_command(overrides: DictConfig, folder) -> str:
    """The command that finishes the sweep in `folder` that ran with these `hydra.overrides`."""
    hydra = [o for o in overrides.hydra if o.partition("=")[0] not in SET_BY_HYDRA]
    folder = Path(str(folder))
    if folder.resolve().is_relative_to(Path.cwd()):
        folder = Path(os.path.relpath(folder.resolve()))
    return printed_command("train.py", "-m", *hydra, *overrides.task, ("hydra.sweep.dir", folder))


def finish_line(folder: Path) -> str:
    """For the summary of a grid sweep with jobs not finished: the command that finishes it."""
    recorded = recorded_sweep(folder)
    if recorded is None or OmegaConf.select(recorded, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return ""
    command = finish_command(recorded.hydra.overrides, folder)
    return f"\nStopped or killed before every job finished? This finishes it: `{command}`\n"


def recorded_sweep(folder) -> DictConfig | None:
    """The multirun.yaml of the sweep in `folder`, read as data (nothing in it is built), or None."""
    path = Path(folder) / "multirun.yaml"
    try:
        recorded = OmegaConf.load(path) if path.is_file() else None
    except Exception:  # damaged (cut short, not YAML): as if there were none; Hydra writes it again
        return None
    return recorded if isinstance(recorded, DictConfig) else None


def sweep_to_finish_problem(arguments: list[str]) -> str | None:
    """For `-m ... hydra.sweep.dir=<folder of an earlier sweep>`: why this command cannot finish it, else None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    if not {"-m", "--multirun"} & set(arguments):
        return None
    try:  # Hydra's own parser: which override sets what (a malformed one: Hydra reports it)
        given = OverridesParser.create().parse_overrides([a for a in arguments if "=" in a or a.startswith("~")])
    except HydraException:
        return None
    folder = next((o.value() for o in given if o.key_or_group == "hydra.sweep.dir"), None)
    recorded = recorded_sweep(folder) if isinstance(folder, str) else None
    if recorded is None:
        return None  # a new sweep
    sweeper = OmegaConf.select(recorded, "hydra.sweeper._target_")
    task = [o.input_line for o in given if not o.is_hydra_override()]
    if sweeper == BASIC_SWEEPER and task == list(OmegaConf.select(recorded, "hydra.overrides.task") or []):
        return None
    if sweeper != BASIC_SWEEPER:
        return (f"error: hydra.sweep.dir={folder} holds a sweep by {sweeper}, and only a grid sweep (Hydra's basic "
                "sweeper: `-m key=a,b ...` without sweep=) can be finished: a search proposes other points each "
                "time. Start a new sweep (without hydra.sweep.dir=) instead. Nothing was run.")
    return (f"error: hydra.sweep.dir={folder} holds a sweep of other overrides: it ran "
            f"`{' '.join(OmegaConf.select(recorded, 'hydra.overrides.task'))}`, this command gives "
            f"`{' '.join(task)}`. Its jobs are numbered by its own command line, so only that one finishes it: "
            f"{finish_command(recorded.hydra.overrides, folder)}\n(or leave out hydra.sweep.dir= to start a new "
            "sweep). Nothing was run.")
