"""The run folder is the unit of trust: a new one per run, and one writer at a time.

Hydra creates run folders with `mkdir(exist_ok=True)`: two runs started in the same second
would share `logs/runs/<date>_<time>` and mix their checkpoints, events and metrics. And
nothing stops two `resume=` of one folder from writing into it together. Our own code,
because neither Hydra nor Lightning does this:

- `new_folder` (the `${new_folder:...}` in configs/hydra/default.yaml) creates the folder
  with `os.mkdir`, which fails when it exists: exactly one process gets each name (also on
  a shared file system); the next gets `<name>_1`, `<name>_2`, ...
- `lock_run_folder` holds `<run dir>/.lock` (`flock`) while a process trains there; the
  kernel drops the lock when the process ends, even by `kill -9`, so a stale lock never blocks.
"""

import fcntl
import os
import re
import shutil
import socket
import time
from pathlib import Path

from .printed_command import command_line
from .run_errors import RunFailed

# Keys that say where a run writes or how it is labelled, not what it trains: left out of run folder
# names (run_name below), of a sweep summary's columns (sweep_summary) and of the setup that the
# test-set counter counts (the worklog's setup_hash). scale_up.py, a Hydra plugin that does not import the
# project, keeps its own copy.
NOT_WHAT_IS_TRAINED = ("paths", "hydra", "note", "final", "target", "optuna_trial")


def labels_only(key: str) -> bool:
    """Is this override's key (`+paths.log_dir`, `note`, `target.metric`) one of NOT_WHAT_IS_TRAINED?"""
    return key.lstrip("+~").split("=", 1)[0].split(".", 1)[0] in NOT_WHAT_IS_TRAINED


AT_THE_START = (".hydra", ".lock", "status.json", "run_record.json", "code.patch")  # written before any training
_claimed: dict[str, str] = {}  # parent folder -> the folder this process created in it
_locks: dict[str, int] = {}  # run folder -> the open, locked .lock file of this process


def new_folder(path: str) -> str:
    """Create `path` (or `path_1`, `path_2`, ... if taken) and return it; once per parent folder per process.

    Hydra may resolve `hydra.run.dir` more than once (Lightning reads it again to relaunch DDP
    processes), and `${now:...}` can tick in between: the second call returns the first folder.
    DDP processes relaunched by Lightning get `hydra.run.dir=<that folder>` and never come here.
    """
    parent = os.path.dirname(os.path.abspath(path))
    if parent not in _claimed:
        os.makedirs(parent, exist_ok=True)
        candidate, n = path, 0
        while True:
            try:
                os.mkdir(candidate)  # atomic: fails if another process made it first
                break
            except FileExistsError:
                n += 1
                candidate = f"{path}_{n}"
        _claimed[parent] = candidate
    return _claimed[parent]


def settings_of(overrides: list[str]) -> dict:
    """{key: value} of `key=value` overrides (a run's `.hydra/overrides.yaml`); deletions (`~key`) and
    where-to-write keys left out: what the sweep summary and eval.py tell jobs apart by."""
    settings = {}
    for override in overrides:
        key, _, value = override.partition("=")
        key = key.lstrip("+")
        if key and not key.startswith("~") and not labels_only(key):
            settings[key] = value
    return settings


def run_name(override_dirname: str = "", limit: int = 60) -> str:
    """`_<the overrides, shortened>` to follow the date and time in a run folder's name ("" without overrides).

    `${run_name:${hydra.job.override_dirname}}` in configs/hydra/default.yaml: Hydra gives the
    command line's overrides, sorted, as `key=value,key=value`; each key is cut to its last part
    (`optimizer.lr=0.01` -> `lr-0.01`), notes and paths are left out, and the parts that fit in
    `limit` characters are kept: `2026-11-23_14-45-19_experiment-example_lr-0.01`. The name is safe to type
    (`safe_name`): a folder is typed back as `resume=<folder>`, where Hydra's grammar reads `=`, `,`
    and brackets, and in bash, which reads quotes, spaces, `*` and `$`.
    """
    parts = []
    for item in (override_dirname or "").split(","):
        key, equals, value = item.partition("=")
        bare = key.lstrip("+~")
        if not item or labels_only(bare):
            continue
        if bare in ("reproduce", "resume"):
            parts.append(("", bare, ""))
        elif not equals and not key.startswith("~"):  # the rest of a list value (`blocks=[1,1]`)
            if parts:
                parts[-1] = (*parts[-1][:2], parts[-1][2] + "," + item)
        else:
            parts.append(("no-" if key.startswith("~") else "", bare, value))
    last = [bare.rsplit(".", 1)[-1] for _, bare, _ in parts]
    named = []
    for (prefix, bare, value), short in zip(parts, last, strict=True):
        if last.count(short) > 1:  # two keys end alike (`ladder.3.enabled`, `ladder.4.enabled`): one part more
            short = ".".join(bare.split(".")[-2:])
        named.append("-".join(part for part in (safe_name(prefix + short), safe_name(value)) if part))
    named.sort(key=lambda part: not part.startswith("experiment-"))  # the experiment first, the rest as sorted
    name = ""
    for part in filter(None, named):  # whole parts while they fit (a name never ends in a cut `...` or `.`)
        if len(name) + 1 + len(part) > limit:
            name = name or part[:limit]
            break
        name = f"{name}_{part}" if name else part
    return "_" + name if name else ""


def safe_name(text: str) -> str:
    """`text` with every run of characters other than letters, digits, `.`, `+`, `-` and `_` made one `-`:
    nothing in it that bash or Hydra's override grammar reads (`blocks=[1,1]` -> `blocks-1-1`)."""
    return "-".join(piece for piece in re.split(r"[^A-Za-z0-9.+_-]+", text) if piece)


def remove_if_unused(folder, only_if_claimed: bool = False) -> None:
    """Delete a folder holding only what is written at the start (`.hydra/`, the log, `.lock`, status.json).

    A run that fails validation, or a resume that fails or has nothing to do, leaves no folder
    behind. `only_if_claimed`: only if `new_folder` created it in this process (never a folder
    given with `hydra.run.dir=`, which may have existed before).
    """
    folder = Path(os.path.abspath(folder))
    if only_if_claimed and str(folder) not in {os.path.abspath(claimed) for claimed in _claimed.values()}:
        return
    if folder.is_dir() and all(p.name in AT_THE_START or p.suffix == ".log" for p in folder.iterdir()):
        shutil.rmtree(folder)


def lock_run_folder(run_dir) -> None:
    """Be the only process writing in `run_dir` until this process ends; refuse before any work otherwise.

    DDP processes that Lightning relaunches (LOCAL_RANK / RANK set and not 0) write into the
    folder of rank 0, which holds the lock for all of them.
    """
    run_dir = Path(run_dir).resolve()
    if str(run_dir) in _locks or any(os.environ.get(key, "0") != "0" for key in ("LOCAL_RANK", "RANK")):
        return
    path = run_dir / ".lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        holder = path.read_text().strip() or "another process (it has just started)"
        raise RunFailed(
            f"{run_dir} is in use: {holder}. One process at a time writes in a run folder (two would mix "
            "their checkpoints, TensorBoard events and metrics). Wait until it ends, or stop it; a stopped or "
            "killed process frees the folder at once. Nothing was done."
        ) from None
    os.ftruncate(descriptor, 0)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    command = command_line()  # as it would be typed again
    os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()} since {started} ({command})\n".encode())
    _locks[str(run_dir)] = descriptor  # kept open: the lock lasts as long as this process


def locked_run_folder() -> Path | None:
    """The run folder this process writes in (the last one it locked), if any."""
    return Path(list(_locks)[-1]) if _locks else None


def refuse_empty_folder(cfg, key: str) -> None:
    """`resume=` (or `reproduce=`) with nothing after `=` (`resume=$RUN` with RUN unset in a script) is a
    mistake, not a request for a new run: ConfigError before anything else."""
    from ..core.validate import ConfigError

    value = cfg.get(key)
    if value is not None and not str(value).strip():
        raise ConfigError(
            f"{key}= is empty: give the folder of a run, e.g. {key}=logs/runs/<date>_<time> (`ls logs/runs` "
            f"lists them). In a script, check that the variable after {key}= is set. Leave {key} out to train a "
            "new run. Nothing was trained."
        )
