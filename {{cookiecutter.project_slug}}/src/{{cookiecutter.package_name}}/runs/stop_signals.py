"""Ctrl-C (SIGINT) and SIGTERM stop a run whenever they land, and the first one counts.

Our own handlers, installed for the whole run by failures.report, because two windows lost a signal:
- Python installs its Ctrl-C handler only if SIGINT is not ignored when the process starts, and a
  non-interactive shell starts every `command &` with SIGINT ignored (POSIX): a run started in the
  background of a script (a CI job, a launcher script) ignored Ctrl-C and `kill -INT`, trained to
  the end and exited 0.
- Lightning handles SIGTERM only inside fit and test (outside, the default action killed the process
  with status.json left "running"; inside test the signal was noted and forgotten: exit 0).
The first signal raises at once (KeyboardInterrupt, or `Terminated` for SIGTERM; inside fit Lightning
also tears down); later ones are only noted, so the ending is written in full. A signal swallowed
on its way up (e.g. raised inside a finalizer, which Python only prints) is raised again at the
run's next step (`raise_if_received`). Once the run has its result (metrics.json written) or its
ending is being written (`hold`), a signal is only noted: the ending is recorded in full, with the
exit code of how the run ended, and a note says the signal came too late to stop anything. Then the
handlers of before are put back (`stop_listening`): a launcher's worker process stops as it should.
"""

import signal
import threading

received: list[int] = []  # the signals this process got since the run started, first first
_holding: list[bool] = []  # [True] once the run's ending is being written
_before: dict[int, object] = {}  # the handlers in place before `listen`, put back by `stop_listening`
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(SystemExit):
    """SIGTERM stopped the run (a SystemExit, like Lightning's own SIGTERMException)."""


def listen() -> None:
    """Install the handlers for a run (once per job of a sweep); a signal noted since the last job counts now.
    Only the main thread can (a launcher running jobs in threads keeps its own handling)."""
    if threading.current_thread() is not threading.main_thread():
        return
    pending = bool(received)
    _holding.clear()
    for signum in SIGNALS:
        previous = signal.signal(signum, _on_signal)
        if previous is not _on_signal:
            _before.setdefault(signum, previous)
    if pending:  # e.g. Ctrl-C while the sweep's launcher was between two jobs: stop the sweep here
        _raise(received[0])


def stop_listening() -> None:
    """The run has ended and its ending is written: the handlers of before (a launcher's worker, Hydra)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in _before.items():
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _before.clear()


def hold() -> None:
    """The run's ending is decided: from now on a signal is noted, not raised."""
    _holding[:] = [True]


def raise_if_received() -> None:
    """Raise the first signal again if it was swallowed on its way up (see the top of this file)."""
    if received and not _holding:
        _raise(received[0])


def _on_signal(signum, frame) -> None:
    first = not received
    received.append(signum)
    if first and not _holding:
        _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGTERM:
        raise Terminated(128 + signum)
    raise KeyboardInterrupt
