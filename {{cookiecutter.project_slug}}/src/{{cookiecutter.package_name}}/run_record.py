"""run_record.json: what it takes to re-run a run, written into its folder when it starts.

Hydra keeps the composed config (`.hydra/config.yaml`); this adds what a config does not say:
the exact command line, the code (git commit, and `code.patch` with the uncommitted changes),
the versions of the key packages, the machine, the seed, and at the end the status and wall
time. `python train.py reproduce=<run dir>` reads it back to warn when any of these differ
(reproduce.py); `python worklog.py diff <a> <b>` compares two runs with it.
Cheap on purpose (every run pays for it): package versions from their metadata, no imports.
"""

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

# Keys that say where a run writes or how it is labelled, not what it trains: left out of run folder
# names (run_folder.run_name), of a sweep summary's columns (sweep_summary) and of the setup that the
# test-set counter counts (worklog.setup_hash). scale_up.py, a Hydra plugin that does not import the
# project, keeps its own copy.
NOT_WHAT_IS_TRAINED = ("paths", "hydra", "note", "final", "target", "optuna_trial")


def labels_only(key: str) -> bool:
    """Is this override's key (`+paths.log_dir`, `note`, `target.metric`) one of NOT_WHAT_IS_TRAINED?"""
    return key.lstrip("+~").split("=", 1)[0].split(".", 1)[0] in NOT_WHAT_IS_TRAINED


PACKAGES = ("torch", "lightning", "hydra-core", "omegaconf", "torchmetrics", "numpy", "scikit-learn", "kornia")


def write_run_record(cfg, run_dir) -> None:
    """run_record.json (and code.patch when the project has uncommitted changes) in `run_dir`."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "command": command_line(),
        "cwd": os.getcwd(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "seed": cfg.get("seed"),
        "code": code_state(run_dir),
        "python": platform.python_version(),
        "packages": package_versions(),
        "machine": machine(),
    }
    path = run_dir / "run_record.json"
    if path.is_file():  # resume=: the run's record stays; each resume adds its own command, code and versions
        resumed = record
        record = json.loads(path.read_text())
        record.setdefault("resumed", []).append({k: resumed[k] for k in ("command", "started", "code", "packages")})
    write_json(path, record)


def finish_run_record(run_dir, status: str, wall_time: float) -> None:
    """Add how the run ended and how long it took (seconds)."""
    path = Path(run_dir) / "run_record.json"
    if path.is_file():
        record = json.loads(path.read_text())
        record |= {"status": status, "ended": time.strftime("%Y-%m-%d %H:%M:%S"), "wall_time_s": round(wall_time, 1)}
        write_json(path, record)


def command_line() -> str:
    """The command as typed, with the arguments quoted where the shell needs it."""
    import shlex

    return " ".join(["python", os.path.basename(sys.argv[0]), *(shlex.quote(a) for a in sys.argv[1:])])


def project_root() -> Path:
    """The folder of the entry point (train.py): the project whose code ran."""
    return Path(sys.argv[0]).resolve().parent if sys.argv and sys.argv[0] else Path.cwd()


def git(*arguments: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(project_root()), *arguments], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def code_state(run_dir: Path | None = None) -> dict:
    """The git commit and whether the work tree differs from it; the difference saved as `code.patch`."""
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git": None, "note": "not a git repository (or no commit yet): the code of this run is not "
                                     "recorded; `git init` and commit to record it"}
    diff = git("diff", "HEAD") or ""
    untracked = (git("ls-files", "--others", "--exclude-standard") or "").split()
    state = {"git": commit.strip(), "dirty": bool(diff or untracked), "untracked": untracked[:50]}
    if diff and run_dir is not None:
        (run_dir / "code.patch").write_text(diff)
        state["patch"] = "code.patch"  # apply with: git apply <run dir>/code.patch on that commit
    return state


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict:
    """CPU model and cores; GPU model and count when torch is loaded and sees one."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"host": platform.node(), "system": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "gpus": []}
    torch = sys.modules.get("torch")  # train() has loaded it; never imported only for this
    if torch is not None and torch.cuda.is_available():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def read_run_record(run_dir) -> dict:
    path = Path(run_dir) / "run_record.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def write_json(path: Path, content: dict) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(content, indent=2) + "\n")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk leaves the old file, and no half-written .tmp
        raise
