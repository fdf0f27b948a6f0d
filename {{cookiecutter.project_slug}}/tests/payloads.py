"""Payloads for the safety tests: a `_target_` that writes a marker file when Hydra builds it, and the one
paragraph a loader must answer with (runs/allowlist.py)."""

from pathlib import Path

from conftest import ROOT

KINDS = ("own_helper", "copyfile", "os_system")


def payload(kind: str, marker: Path) -> dict:
    """A `_target_` that writes `marker` when Hydra builds it: our own helper that appends text to any file,
    a library function, a shell command."""
    return {
        "own_helper": {"_target_": "{{cookiecutter.package_name}}.runs.run_folder.new_folder", "_args_": [str(marker)]},
        "copyfile": {"_target_": "shutil.copyfile", "_args_": [str(ROOT / "README.md"), str(marker)]},
        "os_system": {"_target_": "os.system", "_args_": [f"touch {marker}"]},
    }[kind]


def as_override(key: str, value) -> str:
    """`key=value` in Hydra's override grammar (a dict or list value written out, strings quoted)."""
    def written(v):
        if isinstance(v, dict):
            return "{" + ",".join(f"{k}:{written(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ",".join(written(x) for x in v) + "]"
        return f"'{v}'"
    return f"{key}={written(value)}"


def refused(process, file: Path, key: str, marker: Path) -> None:
    """The command failed before any work, with one paragraph naming the file and the key; nothing written."""
    assert process.returncode not in (0, None), process.stdout[-2000:] + process.stderr[-2000:]
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    paragraph = [line for line in process.stderr.splitlines() if "runs/allowlist.py" in line]
    assert paragraph and str(file) in paragraph[-1] and key in paragraph[-1], process.stderr[-3000:]
    assert "Epoch" not in process.stdout and "test/acc" not in process.stdout  # no training
    assert not marker.exists(), "the payload ran"
