"""`python train.py resume=<run dir>`: continue a stopped run in its own folder.

Lightning's `fit(ckpt_path="last")` looks in the CURRENT run folder, which Hydra has just
created empty, warns, and trains from scratch. Here the folder is named explicitly, and
a folder without a readable checkpoint is an error, before any work. The run continues
with ITS OWN config (`<run dir>/.hydra/config.yaml`) from its newest readable checkpoint
(the end of the last finished epoch): model, optimizer, scheduler, counters, early stopping
and checkpoint state (Lightning), batch order (`SlicedBatches`) and RNG streams (`ExactResume`).

Only the budget may change on resume (`trainer.max_epochs`, `trainer.max_steps`): a run
that finished can be trained longer; any other override is ignored, and listed. A run
that finished and gets no more budget is left exactly as it is. A finished run trained longer
keeps its metrics.json until the longer run writes its own, and its files change only once
training starts (`start_resumed_training`): a resume that fails before loses nothing, and one
killed later leaves status.json "running" with a gone process, which reads "died".
"""

import logging
import os
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .allowlist import recorded_config
from .checkpoints import CheckpointError, newest_checkpoint
from .printed_command import recorded_overrides
from .run_files import read_run_record
from .run_folder import lock_run_folder, refuse_empty_folder, remove_if_unused
from .run_status import read_status, write_status

BUDGET = ("trainer.max_epochs", "trainer.max_steps")


def resume_run(cfg: DictConfig) -> tuple[DictConfig, str | None]:
    """(config, checkpoint) to train with, the run folder locked; (its config, None) for a finished run."""
    refuse_empty_folder(cfg, "resume")
    if not cfg.get("resume"):
        lock_run_folder(cfg.paths.run_dir)  # one writer per run folder (a new folder, or hydra.run.dir=)
        return cfg, None
    run_dir = Path(cfg.resume).resolve()
    original = recorded_config(run_dir, (  # everything in it gets built: only allowlisted targets
        f"Cannot resume from resume={cfg.resume}: " "{config} does not exist. Give the folder of a run "
        "started by train.py (it holds .hydra/config.yaml and checkpoints/ with last.ckpt, written at the end "
        "of every epoch). Nothing was trained."))
    read_run_record(run_dir, CheckpointError)  # damaged: said now, before anything is changed
    OmegaConf.update(original, "resume", str(run_dir), force_add=True)
    # the run's folder, wherever it is now (moved, synced): not the folder Hydra made for this command
    OmegaConf.update(original, "paths.run_dir", str(run_dir), force_add=True)
    budget = budget_overrides(cfg)
    this_folder = HydraConfig.get().runtime.output_dir  # Hydra's new folder for this command: not needed
    if finished(run_dir) and not raises_budget(original, budget):
        print(f"{run_dir} has finished (metrics.json is there): nothing to do, nothing changed. {longer(original, cfg.resume)}")
        remove_if_unused(this_folder)
        return original, None

    lock_run_folder(run_dir)  # before anything is read or written: a second resume of this run is refused here
    log_to(run_dir)  # this session's log lines go to the run's own log file(s)...
    remove_if_unused(this_folder)  # ...so the command leaves no folder of its own
    checkpoint_path, checkpoint = newest_checkpoint(run_dir / "checkpoints")
    for key, value in budget.items():  # written into the run's own files once training starts
        OmegaConf.update(original, key, value)
    if budget and finished(run_dir):
        new = " ".join(f"{key}={value}" for key, value in budget.items())
        print(f"note: continuing a finished run with {new}; its metrics.json is kept until the longer run "
              "writes its own")
    for logger in (original.get("logger") or {}).values():
        if logger and logger.get("_target_", "").endswith("TensorBoardLogger"):
            # TensorBoard hides the stopped run's events from this step on: no duplicated steps
            logger.purge_step = checkpoint["global_step"]
    print(f"resuming {run_dir} from epoch {checkpoint['epoch']}, step {checkpoint['global_step']} "
          f"({checkpoint_path.relative_to(run_dir)})")
    logging.getLogger(__name__).info("resumed by: %s", " ".join(["train.py", *sys.argv[1:]]))
    return original, str(checkpoint_path)


def budget_overrides(cfg: DictConfig) -> dict:
    """{key: value} of the budget keys given on the command line; the other overrides are listed as ignored."""
    given = {o.split("=", 1)[0].lstrip("+~"): o for o in HydraConfig.get().overrides.task}
    own = set(recorded_overrides(Path(cfg.resume)))  # the run's own (a sweep's job being finished: the same)
    ignored = [o for key, o in given.items()  # stages.*: read by the ladder that resumes this stage (stages/ladder.py)
               if key not in (*BUDGET, "resume") and not key.startswith("stages.") and o not in own]
    if ignored:
        print(
            f"note: ignored overrides: {' '.join(ignored)}. A resumed run keeps its own config: changing it "
            f"mid-run would make one run of two setups. Only the budget ({', '.join(BUDGET)}) can change on "
            "resume; start a new run for another setup.",
            file=sys.stderr,
        )
    return {key: OmegaConf.select(cfg, key) for key in BUDGET if key in given}


def longer(original: DictConfig, folder: str) -> str:
    """The advice for a finished run: the command that trains it twice as long (a budget it does not have)."""
    from .printed_command import printed_command

    for key in BUDGET:
        value = OmegaConf.select(original, key)
        if value is not None and value != -1:
            return ("To train it longer, raise its budget, e.g. twice as long: "
                    + printed_command("train.py", ("resume", folder), f"{key}={2 * value}"))
    return "Its budget has no limit (it stopped on its own, e.g. by early stopping): start a new run to train more."


def raises_budget(original: DictConfig, budget: dict) -> bool:
    """Does the new budget allow more training than the run's own (-1 or null: no limit)?"""

    def unlimited(value) -> bool:
        return value is None or value == -1

    old = {key: OmegaConf.select(original, key) for key in budget}
    return any(not unlimited(old[key]) and (unlimited(new) or new > old[key]) for key, new in budget.items())


def finished(run_dir: Path) -> bool:
    """Has the run in this folder finished? metrics.json is there and no later training failed or stopped
    (a longer run resumed from it and killed has status.json "died" beside the shorter run's metrics.json)."""
    status = read_status(run_dir)
    ours = status.get("status") == "running" and status.get("pid") == os.getpid()  # a sweep job's own folder
    return (run_dir / "metrics.json").is_file() and (ours or status.get("status") in (None, "finished", "pruned"))


def start_resumed_training(cfg: DictConfig) -> None:
    """Just before a resumed run trains again: its folder says "running" (status.json, this process), and a
    raised budget goes into its own config, so that a later resume (after a crash too) keeps it. Until now
    a finished run's files were untouched: a failure before this line loses nothing."""
    if not cfg.get("resume"):
        return
    run_dir = Path(cfg.paths.run_dir)
    saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    changed = {key: OmegaConf.select(cfg, key) for key in BUDGET
               if OmegaConf.select(cfg, key) != OmegaConf.select(saved, key)}
    if changed:
        save_budget(run_dir, changed)
    write_status(run_dir, "running", HydraConfig.get().overrides.task)


def save_budget(run_dir: Path, budget: dict) -> None:
    """Write the new budget into the run's .hydra/config.yaml and overrides.yaml (atomically: tmp + rename)."""
    hydra_dir = run_dir / ".hydra"
    config = OmegaConf.load(hydra_dir / "config.yaml")
    overrides = list(OmegaConf.load(hydra_dir / "overrides.yaml")) if (hydra_dir / "overrides.yaml").is_file() else []
    for key, value in budget.items():
        OmegaConf.update(config, key, value)
        overrides = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") != key] + [f"{key}={value}"]
    for name, content in (("config.yaml", config), ("overrides.yaml", OmegaConf.create(overrides))):
        temporary = hydra_dir / f".{name}.tmp"
        try:
            OmegaConf.save(content, temporary)
            os.replace(temporary, hydra_dir / name)
        except OSError:
            temporary.unlink(missing_ok=True)  # a full disk: the old file stays whole
            raise


def log_to(run_dir: Path) -> None:
    """Point the log file handlers (Hydra's `<job>.log`) at the resumed run's folder; lines are appended."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.close()  # reopened on the next line logged, in append mode
            handler.baseFilename = str(run_dir / Path(handler.baseFilename).name)
