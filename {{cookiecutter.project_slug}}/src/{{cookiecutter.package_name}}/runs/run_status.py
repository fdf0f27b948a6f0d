"""status.json: what a run folder's run is doing now, or how it ended, written by the run itself.

    {"status": "running" | "finished" | "failed" | "interrupted" | "pruned",
     "error": the first line of the error or null, "overrides": the command line's
     overrides, "metrics": metrics.json's values once finished, "started", "ended", "host", "pid",
     "pid_started": when that process started (so a reused pid is not taken for the run)}

Written at the start and at the end of every run (failures.report), atomically (a reader never
sees half a file). A sweep's summary reads these files, not the memory of the process that
started the sweep: jobs may run in other processes (joblib) or on other machines (submitit).
A run killed with -9 (or by the out-of-memory killer) cannot write its end: `read_status` reports
a "running" run whose process is gone from this host as "died".
"""

import json
import math
import os
import socket
import sys
import time
from pathlib import Path

FILENAME = "status.json"


def write_status(run_dir, status: str, overrides=(), error: BaseException | None = None) -> None:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():  # e.g. removed after a failed validation (run_folder.remove_if_unused)
        return
    if any(os.environ.get(key, "0") != "0" for key in ("LOCAL_RANK", "RANK")):
        return  # DDP: the other processes of the run train in rank 0's folder; rank 0 reports
    ended_as = status  # classify()'s name: "invalid" for a bad config (nothing was trained)
    if status == "invalid":  # for status.json a bad config is a failed job (a sweep counts it)
        status = "failed"
    previous = read_status(run_dir)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    record = {
        "status": status,
        "error": first_line(error),
        "detail": classify(None, error)[1] if error is not None else "",  # how it ended, in one line
        "ended_as": ended_as,
        "overrides": list(overrides),
        "metrics": read_metrics(run_dir) if status != "running" else {},
        "started": previous.get("started", now) if status != "running" else now,
        "ended": None if status == "running" else now,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_started": process_started(os.getpid()),
    }
    save_status(run_dir / FILENAME, json.dumps(record, indent=2, allow_nan=False) + "\n")


def save_status(path: Path, text: str) -> None:
    """Temporary file + rename: a reader sees the old or the new file, never half of one. On a full disk
    the status is rewritten in place (its own blocks are freed first) and, if even that fails, a warning
    says so; it never raises: the run's ending goes on (a "running" status of a gone process reads "died").
    Not atomic_write.write_atomically: that module loads torch, and a bad value must fail in a second."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
        return
    except OSError:
        temporary.unlink(missing_ok=True)  # no 0-byte .tmp left behind
    try:
        with open(path, "r+" if path.exists() else "w") as file:
            file.truncate(0)
            file.write(text)
    except OSError as error:
        print(f"warning: could not write {path}: {error.strerror or error}", file=sys.stderr)


def read_status(run_dir) -> dict:
    """The folder's status.json, or {} if it has none (or an unreadable or damaged one); "running" whose
    process is gone from this host reads "died" (killed with -9, out of memory, the machine rebooted)."""
    try:
        status = json.loads((Path(run_dir) / FILENAME).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(status, dict):
        return {}  # damaged: the run rewrites it whole when it starts or ends
    if status.get("status") == "running" and status.get("host") == socket.gethostname() and not alive(status):
        status["status"] = "died"
        status["error"] = f"its process (pid {status.get('pid')}) is gone: killed, or out of memory"
    return status


def alive(status: dict) -> bool:
    """Is the process that wrote this status still running (same pid, same start time)?"""
    pid = status.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    started = status.get("pid_started")
    return started is None or started == process_started(pid)


def process_started(pid: int) -> int | None:
    """The start time of a process (clock ticks since boot, /proc on Linux), None where unknown."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def strict_json(metrics: dict) -> str:
    """metrics.json's text: strict JSON (NaN and inf are not JSON: a value not measured is null)."""
    finite = {key: float(value) if math.isfinite(value) else None for key, value in sorted(metrics.items())}
    return json.dumps(finite, indent=2, allow_nan=False) + "\n"


def read_metrics(run_dir) -> dict:
    """metrics.json, {} if absent or unreadable; a missing value (null: not measured) is left out."""
    try:
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(metrics, dict):
        return {}
    return {key: value for key, value in metrics.items() if isinstance(value, (int, float))}


def first_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def classify(metrics: dict | None, error: BaseException | None) -> tuple[str, str]:
    """(status, detail): the one function that names how a run ended, for its status.json
    (failures.report; its `detail` says how to go on, e.g. the resume= command of a stopped run)."""
    if error is None:
        if metrics and metrics.get("overfit/passed") == 0:
            return "failed", "overfit check FAILED"
        return "finished", ""
    from ..core.validate import ConfigError
    from .run_errors import Interrupted, Pruned

    text = str(error).strip()
    if isinstance(error, ConfigError):  # nothing was trained, and the folder is removed: no worklog line
        return "invalid", text.splitlines()[0][:300] if text else ""
    if isinstance(error, Pruned):
        return "pruned", text.splitlines()[0][:300] if text else ""
    if isinstance(error, (Interrupted, KeyboardInterrupt, SystemExit)):
        resume = next((line for line in text.splitlines() if "resume=" in line or "start it again" in line), "")
        return "interrupted", resume
    line = text.splitlines()[0] if text else type(error).__name__
    return "failed", f"{type(error).__name__}: {line}"[:300]
