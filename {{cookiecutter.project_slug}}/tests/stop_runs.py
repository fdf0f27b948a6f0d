"""Start train.py in the background and stop it at a chosen moment (signals, kill -9)."""

import os
import signal
import subprocess
import sys
import time

from conftest import ROOT


def start(run_dir, *overrides, log=None):
    """train.py in the background, started as a non-interactive shell starts `cmd &` (a CI script, a
    launcher): with SIGINT ignored. Ctrl-C and `kill -INT` must still stop it (runs/stop_signals.py)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    out = open(log, "w") if log else subprocess.DEVNULL  # a file, never a pipe that could fill up
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), f"hydra.run.dir={run_dir}", *overrides],
                            env=env, stdout=out, stderr=out,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def stop_after_first_epoch(process, run_dir, sig, marker="epoch000.ckpt", logged=None):
    """Send `sig` once the first epoch's `marker` checkpoint is there (and, if `logged` names a tag,
    once the event files hold it: Lightning saves the checkpoint before it logs the epoch's training
    metrics, so a kill between the two loses that one point): the run is frozen (SIGSTOP), checked to
    be still training, and the signal lands when it is thawed (SIGCONT)."""
    while not (run_dir / "checkpoints" / marker).exists() or (logged and not logged_yet(run_dir, logged)):
        assert process.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.02)
    process.send_signal(signal.SIGSTOP)
    assert not (run_dir / "checkpoints" / "epoch004.ckpt").exists(), "the run had trained all epochs: too late"
    process.send_signal(sig)
    process.send_signal(signal.SIGCONT)
    return process.wait(timeout=120)


def logged_yet(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return tag in EventAccumulator(str(run_dir)).Reload().Tags()["scalars"]


def steps(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return [e.step for e in EventAccumulator(str(run_dir)).Reload().Scalars(tag)]


def start_train(*arguments, log):
    """`python train.py <arguments>` in the background, its output into the file `log`."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    with open(log, "w") as out:  # a file, never a pipe that could fill up
        return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *arguments], env=env, stdout=out, stderr=out)


def wait_for(condition, process, what: str) -> None:
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        time.sleep(0.02)
