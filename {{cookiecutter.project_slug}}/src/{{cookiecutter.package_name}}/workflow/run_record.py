"""run_record.json: what it takes to re-run a run, written into its folder when it starts.

Hydra keeps the composed config (`.hydra/config.yaml`); this adds what a config does not say:
the exact command line, the code (git commit, and `code.patch` with the uncommitted changes),
the versions of the key packages, the machine, the seed, and at the end the status and wall
time. `python train.py reproduce=<run dir>` reads it back to warn when any of these differ
(workflow/reproduce.py); `python worklog.py diff <a> <b>` compares two runs with it.
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

from ..runs.printed_command import command_line
from ..runs.run_files import read_run_record

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
        record = read_run_record(run_dir)
        record.setdefault("resumed", []).append({k: resumed[k] for k in ("command", "started", "code", "packages")})
    write_json(path, record)


def finish_run_record(run_dir, status: str, wall_time: float) -> None:
    """Add how the run ended and how long it took (seconds)."""
    path = Path(run_dir) / "run_record.json"
    if path.is_file():
        try:  # read (and checked) when the run started: only a change since then is damage
            record = read_run_record(run_dir)
        except Exception as damaged:  # the run's results stand: only its end time is not recorded
            print(f"warning: {damaged}", file=sys.stderr)
            return
        record |= {"status": status, "ended": time.strftime("%Y-%m-%d %H:%M:%S"), "wall_time_s": round(wall_time, 1)}
        write_json(path, record)


def project_root() -> Path:
    """The folder of the entry point (train.py): the project whose code ran."""
    return Path(sys.argv[0]).resolve().parent if sys.argv and sys.argv[0] else Path.cwd()


def git(*arguments: str, ok: tuple = (0,)) -> str | None:
    """git's output in the project root, or None (no git, not a repository, exit code not in `ok`)."""
    try:
        done = subprocess.run(["git", "-C", str(project_root()), *arguments], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode in ok else None


def code_state(run_dir: Path | None = None) -> dict:
    """The git commit and whether the work tree differs from it; the difference saved as `code.patch`:
    `git diff HEAD` plus every untracked source file as a new file (a model not yet committed), so that
    `git apply code.patch` on that commit gives back the code that ran."""
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git": None, "note": "not a git repository (or no commit yet): the code of this run is not "
                                     "recorded; `git init` and commit to record it"}
    diff = git("diff", "HEAD") or ""
    untracked = (git("ls-files", "--others", "--exclude-standard", "-z") or "").split("\0")
    saved, not_saved = untracked_sources([name for name in untracked if name])
    diff += "".join(git("diff", "--no-index", "--", "/dev/null", name, ok=(1,)) or "" for name in saved)
    state = {"git": commit.strip(), "dirty": bool(diff or not_saved), "untracked": (saved + not_saved)[:50]}
    if not_saved:
        state["untracked_not_saved"] = not_saved[:50]
        print(f"note: code.patch leaves out {len(not_saved)} untracked file(s) that are not source text under "
              f"{UNTRACKED_LIMIT // 1000} kB ({', '.join(not_saved[:3])}{' ...' if len(not_saved) > 3 else ''}); "
              "commit them, or add them to .gitignore if they are not code", file=sys.stderr)
    if diff and run_dir is not None:
        (run_dir / "code.patch").write_text(diff)
        state["patch"] = "code.patch"  # apply with: git apply <run dir>/code.patch on that commit
    return state


UNTRACKED_LIMIT = 200_000  # bytes per untracked file saved in code.patch; larger ones are data, not code
NOT_CODE_FOLDERS = ("logs", "data", "outputs", "multirun")  # what runs write or read, not what runs


def untracked_sources(names: list[str]) -> tuple[list[str], list[str]]:
    """The untracked files to save in code.patch (text, small, outside logs/ and data/), and the rest
    (listed, not saved). Names are relative to the project root, as git gives them."""
    saved, not_saved = [], []
    for name in names:
        path = project_root() / name
        if name.split("/", 1)[0] in NOT_CODE_FOLDERS:
            continue
        try:
            text = path.read_bytes() if path.stat().st_size <= UNTRACKED_LIMIT else None
        except OSError:
            text = None
        (saved if text is not None and b"\0" not in text else not_saved).append(name)
    return saved, not_saved


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


def write_json(path: Path, content: dict) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(content, indent=2) + "\n")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk leaves the old file, and no half-written .tmp
        raise
