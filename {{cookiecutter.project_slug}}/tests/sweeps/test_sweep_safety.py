"""The scale-up sweeper (experiment=scale_10x, src/hydra_plugins/search_sweeper/scale_up.py) reads a small
sweep's folder from disk: a job's overrides carrying a `_target_` off the allowlist are refused before any job."""

from pathlib import Path

import pytest
import yaml

from conftest import FAST, ROOT, run_script


def payload(kind: str, marker: Path) -> dict:
    """A `_target_` that writes `marker` when Hydra builds it: a library function, a shell command."""
    return {
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


@pytest.mark.parametrize("kind", ["copyfile", "os_system"])
def test_a_scale_up_folder_carrying_a_payload_writes_nothing(tmp_path, kind):
    """hydra.sweeper.small=<folder>: summary.csv -> a job's run_dir -> its .hydra/overrides.yaml, checked first."""
    marker = tmp_path / "marker"
    small, job = tmp_path / "small", tmp_path / "small" / "0"
    (job / ".hydra").mkdir(parents=True)
    (small / "summary.csv").write_text(f"job,status,run_dir,val/acc\n0,finished,{job},0.5\n")
    overrides = ["optimizer.lr=0.01", as_override("+callbacks.extra", payload(kind, marker))]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"data": {"fraction": 0.05}}))
    large = tmp_path / "large"
    process = run_script("train.py", "-m", "experiment=scale_10x", f"hydra.sweeper.small={small}", *FAST,
                         f"hydra.sweep.dir={large}", f"paths.log_dir={tmp_path}")
    refused(process, job / ".hydra" / "overrides.yaml", "callbacks.extra._target_", marker)
    assert not list(large.glob("*/.hydra"))  # no job launched
