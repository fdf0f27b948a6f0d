"""The worklog: one line per run in `logs/worklog.md` (to read) and `logs/worklog.jsonl` (for tools).

Every single run appends its line when it ends: date, run folder, command, the `note="..."`
given on the command line, status (finished / failed with the first error line /
interrupted with the resume command), the key metrics, the target (workflow/target.py), and whether
the test set was looked at. A sweep appends ONE line, with its best job (`append_sweep_entry`,
called by the worklog's Hydra callback, workflow/worklog_line.py): its jobs append nothing.
Several processes may end at once (a sweep's jobs, runs in parallel terminals): each append
holds an exclusive `flock` on `logs/worklog.lock` and writes whole lines, so none is lost or
interleaved. Our own code: neither Hydra nor Lightning keeps a log across runs.

`python worklog.py` prints the table (worklog.py at the project root), `python worklog.py
diff <a> <b>` what changed between two runs (workflow/run_diff.py).
"""

import fcntl
import hashlib
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

from ..runs.printed_command import command_line
from ..runs.run_folder import NOT_WHAT_IS_TRAINED
from ..runs.run_status import classify, read_status
from .run_record import finish_run_record, write_run_record
from .target import target_line, target_result

# Config keys that do not change what is trained: not part of a configuration's identity
# (the test-set counter counts distinct configurations, seeds of one setup are one).
NOT_THE_SETUP = NOT_WHAT_IS_TRAINED + ("reproduce", "resume", "seed", "test_set_budget", "optimized_metric",
                                       "callbacks")
HEADLINE = ("test/acc", "test/r2", "test/loss", "val/acc", "val/r2", "val/loss", "train/loss", "overfit/passed")

_run: dict = {}  # the run this process records (start_run), until its line is written


def start_run(cfg, run_dir) -> None:
    """At the start of train(): run_record.json, and remember the run for its line at the end."""
    if any(os.environ.get(key, "0") != "0" for key in ("LOCAL_RANK", "RANK")):
        return  # a DDP process started by Lightning: the first process records the run
    _run.clear()
    _run.update(cfg=cfg, run_dir=Path(run_dir), started=time.time())
    write_run_record(cfg, run_dir)


def run_ended(metrics: dict | None = None, error: BaseException | None = None) -> None:
    """The end of the run started by `start_run`: finished (metrics), failed (error) or interrupted.

    run.finish calls it with the metrics (its last step); a run that did not get there is ended by
    `run_not_finished` after the job (a later call for the same run does nothing).
    """
    if _run:
        record_ending(*classify(metrics, error), metrics)


def run_not_finished(output_dir) -> None:
    """The end of a run that did not reach run.finish (failed, stopped, pruned, a bug), as failures.report
    wrote it into status.json: for the Hydra callback, after the job (workflow/worklog_line.py). A bad
    config gets no line (`record_ending`), nor a run whose folder was removed (nothing of it is left)."""
    if not _run:
        return
    status = next((s for s in map(ended_here, (_run["run_dir"], output_dir)) if s), None)
    if status is None:
        _run.clear()
        return
    record_ending(status.get("ended_as") or status["status"], status.get("detail") or status.get("error") or "")


def ended_here(folder) -> dict | None:
    """The folder's status.json if this process wrote its ending there."""
    status = read_status(folder)
    return status if status.get("pid") == os.getpid() and status.get("status") not in (None, "running", "died") else None


def record_ending(status: str, detail: str, metrics: dict | None = None) -> None:
    """The run's end in run_record.json, train.log and the worklog (one line; none in a sweep: one per sweep)."""
    cfg, run_dir, started = _run.pop("cfg"), _run.pop("run_dir"), _run.pop("started")
    _run.clear()
    try:
        finish_run_record(run_dir, status, time.time() - started)
    except (OSError, ValueError) as failure:  # a full disk, a damaged run_record.json: the ending goes on
        print(f"warning: could not record the end in {run_dir / 'run_record.json'}: {failure}", file=sys.stderr)
    metrics = {key: value for key, value in (metrics or {}).items() if math.isfinite(value)}  # strict JSON
    target = OmegaConf.to_container(cfg.target, resolve=True) if cfg.get("target") else None
    reached = target_result(target, metrics)
    if reached is not None:
        print(target_line(reached, target.get("why")))
    elif target and metrics:
        print(f"note: target.metric={target['metric']} is not in this run's metrics.json: no target check")
    log = logging.getLogger("run")  # train.log ends with the result or the error
    shown = {k: v for k, v in metrics.items() if k in HEADLINE or (target and k == target["metric"])}
    log.info("%s%s", status, ": " + detail if detail else ": " + ", ".join(f"{k}={v:.4f}" for k, v in shown.items()))
    if in_sweep() or status == "invalid":
        return  # one line per sweep (append_sweep_entry), not one per job; none for an invalid config
    entry = {
        "kind": "run", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "run": shown_path(run_dir),
        "command": command_line(), "note": cfg.get("note"), "status": status, "detail": detail,
        "metrics": shown, "optimized_metric": cfg.get("optimized_metric"),
        "overrides": task_overrides(), "experiment": choice("experiment"),
        "setup": setup_hash(cfg), "tested": any(k.startswith("test/") for k in metrics),
        "tested_as": tested_as(run_dir, setup_hash(cfg)),
        "final": bool(cfg.get("final")), "target": target, "target_result": reached,
    }
    path = Path(cfg.paths.log_dir) / "worklog.jsonl"
    try:
        append_entry(path, entry)
    except OSError as error:  # the run's own result stands; only its worklog line is missing
        print(f"warning: could not append to {path}: {error}", file=sys.stderr)
        return
    warn_about_test_set(path, cfg.get("test_set_budget"), entry)
    if entry["final"]:
        print("final=true: this run gives the reported number (marked `final` in the worklog)")


def append_sweep_entry(multirun_dir, best: dict, failed: int, jobs: int | None = None, best_job: str | None = None,
                       config=None, tested_setups: list[str] | None = None) -> None:
    """One worklog line for a whole sweep: its folder, its best job's metrics (`best`, the flat keys of that
    job's metrics.json), how many jobs failed. For the sweep's summary callback (on_multirun_end): `config`
    is the sweep's config (note, target, log folder, the sweep's overrides); `tested_setups` the setup_hash
    of each job scored on the test set (the test-set counter counts them like single runs)."""
    config = config if config is not None else OmegaConf.create({})
    target = OmegaConf.to_container(config.target, resolve=True) if config.get("target") else None
    shown = {k: v for k, v in best.items()
             if (k in HEADLINE or (target and k == target["metric"])) and math.isfinite(v)}
    overrides = list(OmegaConf.select(config, "hydra.overrides.task", default=None) or [])
    entry = {
        "kind": "sweep", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "run": shown_path(Path(multirun_dir)),
        "command": command_line(), "note": config.get("note"),
        "status": "finished" if not failed else f"{failed} failed", "detail": f"best job: {best_job}" if best_job else "",
        "metrics": shown, "jobs": jobs, "failed": failed, "overrides": overrides,
        "experiment": OmegaConf.select(config, "hydra.runtime.choices.experiment", default=None),
        "tested": bool(tested_setups), "setup": None, "setups": sorted(set(tested_setups or [])),
        "final": bool(config.get("final")), "target": target, "target_result": target_result(target, best),
    }
    log_dir = OmegaConf.select(config, "paths.log_dir", default=None) or Path(multirun_dir).parent.parent
    append_entry(Path(log_dir) / "worklog.jsonl", entry)
    warn_about_test_set(Path(log_dir) / "worklog.jsonl", config.get("test_set_budget"), entry)


def append_entry(jsonl: Path, entry: dict) -> None:
    """Append `entry` to worklog.jsonl and its row to worklog.md (same folder), holding worklog.lock."""
    jsonl = Path(jsonl)
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    markdown = jsonl.with_suffix(".md")
    with open(jsonl.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits for the other writers; released when the file closes
        write_whole(jsonl, json.dumps(entry, default=str) + "\n")
        if not markdown.exists() or markdown.stat().st_size == 0:
            write_whole(markdown, "# Worklog\n\nOne line per run (`python worklog.py` filters them).\n\n"
                                  "| date | run | status | result | note | command |\n|---|---|---|---|---|---|\n")
        write_whole(markdown, markdown_row(entry) + "\n")


def write_whole(path: Path, text: str) -> None:
    """Append whole lines (the lock keeps writers apart): on a new line if an earlier write was cut short
    (a full disk), and all of the text (os.write may write less than asked)."""
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(descriptor).st_size
        data = text.encode()
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            data = b"\n" + data  # the cut line stays alone (and is skipped by readers); this one is whole
        while data:
            data = data[os.write(descriptor, data):]
    finally:
        os.close(descriptor)


def markdown_row(entry: dict) -> str:
    def cell(text) -> str:
        return str(text or "").replace("|", "\\|").replace("\n", " ")

    result = ", ".join(f"{k}={v:.4f}" for k, v in entry["metrics"].items())
    if entry.get("detail"):
        result = f"{result} ({entry['detail']})" if result else entry["detail"]
    status = entry["status"] + (" **final**" if entry.get("final") else "")
    return "| " + " | ".join(cell(c) for c in (entry["date"], f"`{entry['run']}`", status, result, entry.get("note"),
                                                  f"`{entry['command']}`")) + " |"


def read_entries(jsonl) -> list[dict]:
    """Every well-formed entry of worklog.jsonl, oldest first (see read_worklog)."""
    return read_worklog(jsonl)[0]


def read_worklog(jsonl) -> tuple[list[dict], int]:
    """(the well-formed entries of worklog.jsonl, oldest first; how many lines were skipped): a line cut
    short by a full disk, or one that is not an entry (`42`, an edited line) is skipped, never fatal."""
    jsonl = Path(jsonl)
    entries, skipped = [], 0
    text = jsonl.read_text(errors="replace") if jsonl.is_file() else ""
    for line in filter(str.strip, text.splitlines()):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if well_formed(entry):
            entries.append(entry)
        else:
            skipped += 1
    return entries, skipped


def well_formed(entry) -> bool:
    """An entry as run_ended / append_sweep_entry write it: the keys every reader uses, with their types."""
    if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("date", "run", "status")):
        return False
    metrics, target = entry.get("metrics"), entry.get("target")
    setups, overrides = entry.get("setups", []), entry.get("overrides", [])
    return (isinstance(metrics, dict) and all(isinstance(value, (int, float)) for value in metrics.values())
            and isinstance(overrides, list) and isinstance(setups, list)
            and all(isinstance(item, str) for item in [*overrides, *setups])
            and (target is None or (isinstance(target, dict) and isinstance(target.get("metric"), str)
                                    and isinstance(target.get("value"), (int, float)))))


def skipped_lines(jsonl, skipped: int) -> str:
    """The note readers print when lines of the worklog were skipped."""
    return (f"note: skipped {skipped} line(s) of {jsonl} that are not worklog entries (cut short by a full disk, "
            "or edited); the other entries are complete")


def warn_about_test_set(jsonl: Path, budget, entry: dict) -> None:
    """Past `test_set_budget` distinct configurations evaluated on one test set: say that it is worn out. Each
    test set (the test split's fingerprint, split.json) has its own count: another dataset is not worn by this one."""
    if not entry["tested"] or budget is None:
        return
    items = [entry.get("tested_as") or entry.get("setup"), *entry.get("setups", [])]
    for test_set in sorted({item.partition("@")[2] for item in items if item}):
        count = len(tested_setups(read_entries(jsonl), test_set or None))
        if count <= budget:
            continue
        print(f"warning: the test set has now scored {count} distinct configurations (test_set_budget={budget}, "
              f"counted in {jsonl}{f' for the test split {test_set}' if test_set else ''}). Every choice made by looking at test numbers fits the choice to this test set, "
              "so its numbers are now optimistic. Select on val/ metrics; for the number you report, evaluate "
              "the final configuration (final=true) on a fresh hold-out set that no decision has seen.",
              file=sys.stderr)


def tested_setups(entries: list[dict], test_set: str | None = None) -> set[str]:
    """Distinct configurations scored on the test set: one per run, one per tested job of a sweep; with
    `test_set`, those scored on that one (lines written before test sets were recorded count for every one)."""
    items = {item for e in entries if e.get("tested")
             for item in [e.get("tested_as") or e.get("setup"), *e.get("setups", [])] if item}
    return {item for item in items if test_set is None or item.partition("@")[2] in ("", test_set)}


def tested_as(run_dir, setup: str) -> str:
    """A configuration as the test-set budget counts it: `<setup hash>@<its test split's fingerprint>` (split.json)."""
    from ..runs.split_fingerprint import recorded_split

    test_set = str(recorded_split(run_dir).get("test") or "")[:12]
    return f"{setup}@{test_set}" if test_set else setup


def setup_hash(cfg) -> str:
    """A short hash of what is trained (the config without paths, notes, seed, ...)."""
    container = OmegaConf.to_container(cfg, resolve=False)
    setup = {k: v for k, v in container.items() if k not in NOT_THE_SETUP}
    return hashlib.sha256(json.dumps(setup, sort_keys=True, default=str).encode()).hexdigest()[:12]


def in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def task_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def choice(group: str):
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get(group) if HydraConfig.initialized() else None


def shown_path(path: Path) -> str:
    path = Path(path).resolve()
    return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
