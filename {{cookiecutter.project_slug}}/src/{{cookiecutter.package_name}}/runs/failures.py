"""How a run fails: one paragraph on stderr and an exit code, decided by the entry point.

Code inside a Hydra job never ends the process (no `SystemExit`, no `sys.exit`): in a
multirun that would kill the whole sweep, the jobs still to come included. It raises one
of the exceptions below (or `ConfigError`, `CheckpointError`) and `report` turns it into
the exit code the entry point passes to `sys.exit`:

    0  the run finished
    1  the run failed (RunFailed, CheckpointError, a full disk): overfit check FAILED, non-finite loss, ...
    2  a config value cannot work (ConfigError): nothing was trained
  130  stopped by Ctrl-C (SIGINT), 143 stopped by SIGTERM (a scheduler, `timeout`): last.ckpt kept

Every run writes how it is doing into its folder's status.json (runs/run_status.py): "running" at
the start, then "finished", "failed" (with the error's first line), "interrupted" or "pruned"
(`Pruned`: a sweeper stopped the trial early; not a failure, exit code 0).

In a multirun a failed job (any exception, a bug included: its traceback is printed) returns
NaN instead of raising: Hydra's sweepers stop at the first raised failure (the basic sweeper
after the batch, skipping the batches still to come and the sweep's end callbacks); NaN is what
Optuna records as a failed trial. The sweep goes on, its summary (the sweeps room) marks the
job failed from its status.json, and the command exits 1 at the end. Ctrl-C and SIGTERM stop
the whole sweep: someone asked for it.
"""

import errno
import math
import os
import signal
import sys
import traceback
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from . import stop_signals
from .run_errors import Interrupted, Pruned, RunFailed  # noqa: F401 (imported from here by run.py, core, rooms)
from .run_folder import locked_run_folder, remove_if_unused
from .run_status import classify, read_metrics, read_status, write_status

exit_code = 0  # set by report(); the entry scripts exit with it once Hydra returns


def report(task, cfg):
    """task(cfg), with its known failures turned into a message and `exit_code` (see the top of this file).

    The one ending path: however the run ends (result, error, Ctrl-C or SIGTERM at any moment, a full
    disk), its status.json says so (what a run's observers read: the worklog's Hydra callback, a sweep's
    summary), and `exit_code` is the documented one. Signals are held while the ending is written (runs/stop_signals.py).
    """
    hydra = HydraConfig.get()
    overrides = list(hydra.overrides.task)
    try:
        stop_signals.listen()  # Ctrl-C and SIGTERM raise whenever they land, also outside Lightning
        write_status(hydra.runtime.output_dir, "running", overrides)
        result = task(cfg)
        stop_signals.raise_if_received()  # a signal swallowed on its way up still stops the run
    except (KeyboardInterrupt, SystemExit) as stop:  # Ctrl-C or SIGTERM: Lightning has stopped gracefully
        stop_signals.hold()
        outcome = interrupted(stop)
    except Exception as error:
        stop_signals.hold()
        outcome = error
    else:
        stop_signals.hold()
        outcome = None
    try:
        return ended(cfg, overrides, outcome) if outcome is not None else finished(cfg, overrides, result)
    finally:
        stop_signals.stop_listening()


def finished(cfg, overrides: list[str], result):
    """Record a run that finished (status.json) and return its result."""
    folder = status_folder(cfg)
    write_status(folder, classify(read_metrics(folder), None)[0], overrides)
    if stop_signals.received:  # e.g. SIGTERM while the worklog line was written: the result was complete
        name = signal.Signals(stop_signals.received[0]).name
        print(f"note: {name} came after the run had written its result; it is complete: {folder}", file=sys.stderr)
    return result


def ended(cfg, overrides: list[str], failure: Exception):
    """Record a run that did not finish (status.json, message) and set `exit_code`."""
    global exit_code
    hydra = HydraConfig.get()
    in_sweep = hydra.mode == RunMode.MULTIRUN
    if isinstance(failure, Pruned):  # an expected end in a sweep: no error, no failure
        print(f"pruned: {failure}", flush=True)
        write_status(status_folder(cfg), classify(None, failure)[0], overrides, failure)
        return math.nan if in_sweep else None
    code = exit_code_for(failure)
    if code is None:  # a bug: its traceback
        write_status(status_folder(cfg), classify(None, failure)[0], overrides, failure)
        if not in_sweep:
            raise failure  # Hydra prints the traceback
        traceback.print_exception(failure)
        exit_code = 1
        return math.nan  # the sweep goes on (see the top of this file)
    sys.stdout.flush()  # the message comes last, also when both streams go to one file
    print(failure if isinstance(failure, Interrupted) else f"error: {failure}", file=sys.stderr, flush=True)
    write_status(status_folder(cfg), classify(None, failure)[0], overrides, failure)
    remove_if_unused(hydra.runtime.output_dir, only_if_claimed=True)  # e.g. a failed validation (single runs)
    if not in_sweep:
        exit_code = code
        return None
    if isinstance(failure, Interrupted):  # someone asked to stop: the whole sweep stops, Hydra does not
        exit_code = code
        raise KeyboardInterrupt(str(failure)) from None  # catch it; the entry point exits with exit_code
    exit_code = 1  # a sweep with a failed job exits 1 (with other launchers: the sweep summary sets it)
    return math.nan  # the sweep goes on; its summary says this job failed and why


def status_folder(cfg) -> Path:
    """Where this run's status.json goes: its own folder, or the folder `resume=` continues once this
    process trains there (resume.start_resumed_training): a resume that fails before leaves it as it was."""
    locked = locked_run_folder()
    if cfg.get("resume") and locked is not None and locked == Path(cfg.resume).resolve():
        if read_status(locked).get("pid") == os.getpid():
            return locked
    return Path(HydraConfig.get().runtime.output_dir)


def interrupted(stop: BaseException) -> Interrupted:
    """Ctrl-C or SIGTERM: where the run is, and the exact command that continues it.

    Lightning does the graceful part (trainer/call.py, signal_connector.py): on Ctrl-C it stops,
    tears down and raises SystemExit(1); on SIGTERM it sets `trainer.received_sigterm`, stops
    after the current batch and raises SIGTERMException, a SystemExit with code 0 (a scheduler
    or a sweep would count that as a success). Both keep the last.ckpt of the last finished epoch.
    """
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from .printed_command import printed_command

    if stop_signals.received:  # the first signal this run got (runs/stop_signals.py)
        signum = signal.Signals(stop_signals.received[0])
    else:
        signum = signal.SIGTERM if isinstance(stop, SIGTERMException) else signal.SIGINT
    run_dir = locked_run_folder() or Path(HydraConfig.get().runtime.output_dir)
    shown = Path(os.path.relpath(run_dir)) if run_dir.resolve().is_relative_to(Path.cwd()) else run_dir
    if (run_dir.parent / "stages.json").is_file():  # a stage of a ladder (stages/ladder.py): continue the whole ladder
        shown = shown.parent
        how = f"continue the ladder with: {printed_command('train.py', ('resume', shown))}"
    elif not any(Path(run_dir, "checkpoints").glob("*.ckpt")):
        how = "it stopped before the end of its first epoch, so there is no checkpoint: start it again"
    else:
        how = f"continue it with: {printed_command('train.py', ('resume', shown))}"
    return Interrupted(f"stopped by {signum.name}; the run folder: {run_dir}\n{how}", signum)


def exit_code_for(error: Exception) -> int | None:
    from ..core.validate import ConfigError

    if isinstance(error, ConfigError):
        return 2
    if isinstance(error, Interrupted):
        return error.exit_code
    if isinstance(error, RunFailed):
        return 1
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return 1  # a full disk or a quota, in a small write: its one line says which file
    from .checkpoints import CheckpointError  # imports torch: only reached once something failed

    return 1 if isinstance(error, CheckpointError) else None
