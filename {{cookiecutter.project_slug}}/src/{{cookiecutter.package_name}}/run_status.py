"""status.json: what a run folder's run is doing now, or how it ended, written by the run itself.

    {"status": "running" | "finished" | "failed" | "interrupted" | "pruned",
     "error": the first line of the error or null, "overrides": the command line's
     overrides, "metrics": metrics.json's values once finished, "started", "ended", "host", "pid"}

Written at the start and at the end of every run (failures.report), atomically (a reader never
sees half a file). A sweep's summary reads these files, not the memory of the process that
started the sweep: jobs may run in other processes (joblib) or on other machines (submitit).
A run killed with -9 (or by the out-of-memory killer) stays "running" with its pid and host.
"""

import json
import os
import socket
import time
from pathlib import Path

FILENAME = "status.json"


def write_status(run_dir, status: str, overrides=(), error: BaseException | None = None) -> None:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():  # e.g. removed after a failed validation (run_folder.remove_if_unused)
        return
    if any(os.environ.get(key, "0") != "0" for key in ("LOCAL_RANK", "RANK")):
        return  # DDP: the other processes of the run train in rank 0's folder; rank 0 reports
    if status == "invalid":  # classify(): for status.json a bad config is a failed job (a sweep counts it)
        status = "failed"
    previous = read_status(run_dir)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    record = {
        "status": status,
        "error": first_line(error),
        "overrides": list(overrides),
        "metrics": read_metrics(run_dir) if status != "running" else {},
        "started": previous.get("started", now) if status != "running" else now,
        "ended": None if status == "running" else now,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    # Temporary file + rename: a reader sees the old or the new file, never half of one. Not
    # atomic_write.write_atomically: that module loads torch, and a bad value must fail in a second.
    temporary = run_dir / f".{FILENAME}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, run_dir / FILENAME)


def read_status(run_dir) -> dict:
    """The folder's status.json, or {} if it has none (or an unreadable or damaged one)."""
    try:
        status = json.loads((Path(run_dir) / FILENAME).read_text())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}  # damaged: the run rewrites it whole when it starts or ends


def read_metrics(run_dir) -> dict:
    try:
        return json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}


def first_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def classify(metrics: dict | None, error: BaseException | None) -> tuple[str, str]:
    """(status, detail): the one function that names how a run ended, for its status.json
    (failures.report) and its worklog line and train.log ending (worklog.run_ended)."""
    if error is None:
        if metrics and metrics.get("overfit/passed") == 0:
            return "failed", "overfit check FAILED"
        return "finished", ""
    from .failures import Interrupted, Pruned
    from .validate import ConfigError

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
