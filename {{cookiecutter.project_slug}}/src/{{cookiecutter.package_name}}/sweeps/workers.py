"""The jobs of a sweep stop with the sweep: a killed `python train.py -m hydra/launcher=joblib ...` leaves nothing running.

joblib's loky workers are children of the sweep's main process, and nothing in loky stops them when it
dies: killed with SIGTERM, Ctrl-C or `kill -9`, the main process left its workers training on (and idle
workers waiting 5 minutes). So, with the joblib launcher:
- every worker runs `stop_with_parent` when it starts (loky's `initializer`, set by `StopJobsWithTheSweep`):
  a thread that checks every 0.2 s that the sweep's main process is still its parent. When it is gone, a
  job in training is stopped as SIGTERM stops a run (Lightning stops after the batch; last.ckpt kept,
  status.json "interrupted", the job's resume line printed), then the worker ends; an idle worker ends at once.
- SIGTERM or SIGINT to the main process prints the command that finishes the sweep, and the main process
  ends: its workers see it gone and stop as above (while it lived, loky would hand them the next jobs).
The finishing command (sweeps/finish_sweep.py) skips the jobs that finished and resumes the stopped ones.
Our own code: loky has no parent-death check, Hydra no way to stop a sweep's jobs.
"""

import functools
import os
import signal
import sys
import threading
import time

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf, open_dict, read_write

POLL_SECONDS = 0.2
GRACE_SECONDS = 120  # a job told to stop ends after its batch; one stuck longer is ended anyway


class StopJobsWithTheSweep(Callback):
    """Hydra callback (configs/hydra/default.yaml): with the joblib launcher, workers that stop with the sweep."""

    def on_multirun_start(self, config, **kwargs) -> None:
        from .finish_sweep import BASIC_SWEEPER, finish_command

        command = None  # a search (sweep=optuna, ...) proposes other points each time: it cannot be finished
        if config.hydra.sweeper.get("_target_") == BASIC_SWEEPER:
            command = finish_command(config.hydra.overrides, config.hydra.sweep.dir)
            print(f"stopped or killed? finish this sweep with: {command}", flush=True)
        if not in_worker_processes(config.hydra.launcher):
            return  # the jobs run in this process (Lightning handles the signals) or elsewhere (SLURM, Ray)
        with read_write(config.hydra.launcher), open_dict(config.hydra.launcher):  # the sweeper builds the launcher next
            config.hydra.launcher.initializer = {"_target_": f"{__name__}.stop_with_parent",
                                                 "_partial_": True, "parent": os.getpid()}
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, functools.partial(end_sweep, command=command))


def in_worker_processes(launcher) -> bool:
    """Does joblib run the jobs in worker processes? (n_jobs=1, or -1 on one core: in this one)"""
    if "hydra_joblib_launcher" not in str(launcher.get("_target_", "")):
        return False
    from joblib import effective_n_jobs

    return effective_n_jobs(int(launcher.get("n_jobs") or 1)) > 1


def end_sweep(signum: int, frame, command: str | None) -> None:
    """SIGTERM or SIGINT in the sweep's main process: say how to finish the sweep, and end like the signal."""
    finish = f"; finish the sweep with: {command}" if command else ""
    print(f"stopped by {signal.Signals(signum).name}: the running jobs stop and keep their last.ckpt{finish}",
          file=sys.stderr, flush=True)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # the shell sees the signal (130, 143); the workers see their parent gone


def stop_with_parent(parent: int) -> None:
    """loky's initializer, in each worker at start: watch the parent from a daemon thread."""
    threading.Thread(target=watch_parent, args=(parent,), name="stop-with-the-sweep", daemon=True).start()


def watch_parent(parent: int) -> None:
    while os.getppid() == parent:  # an orphan is adopted by init or a subreaper: another parent id
        time.sleep(POLL_SECONDS)
    deadline, told = time.monotonic() + GRACE_SECONDS, False
    while job_running() and time.monotonic() < deadline:
        if not told and signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            os.kill(os.getpid(), signal.SIGTERM)  # Lightning's handler is in place: it stops after the batch
            told = True
        time.sleep(POLL_SECONDS / 2)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signal.SIGTERM)  # not SystemExit: loky's loop would wait for the next job


def job_running() -> bool:
    """Is this worker inside a job that has started (status.json "running", written by failures.report)?"""
    from ..runs.run_status import read_status

    if not HydraConfig.initialized():  # never given a job
        return False
    folder = OmegaConf.select(HydraConfig.get(), "runtime.output_dir", default=None)
    return folder is not None and read_status(folder).get("status") == "running"
