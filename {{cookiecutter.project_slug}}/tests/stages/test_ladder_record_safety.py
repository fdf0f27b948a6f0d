"""resume=<ladder folder> composes what its stages.json names: a record carrying a payload builds nothing."""

import json
from pathlib import Path

import pytest

from conftest import FAST, ROOMS, ROOT, run_script

# a `_target_` that writes the marker when Hydra builds it: a library function, a shell command, and (with the
# workflow room) our own helper that appends text to any file
KINDS = ("copyfile", "os_system", *(("own_helper",) if "workflow" in ROOMS else ()))


def payload(kind: str, marker: Path) -> dict:
    return {
        "own_helper": {"_target_": "{{cookiecutter.package_name}}.workflow.worklog.write_whole", "_args_": [str(marker), "pwned"]},
        "copyfile": {"_target_": "shutil.copyfile", "_args_": [str(ROOT / "README.md"), str(marker)]},
        "os_system": {"_target_": "os.system", "_args_": [f"touch {marker}"]},
    }[kind]


def as_override(key: str, value) -> str:
    """`key=value` in Hydra's override grammar (a dict value written out, strings quoted)."""
    def written(v):
        if isinstance(v, dict):
            return "{" + ",".join(f"{k}:{written(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ",".join(written(x) for x in v) + "]"
        return f"'{v}'"
    return f"{key}={written(value)}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_ladder_record_carrying_a_payload_writes_nothing(tmp_path, kind):
    marker = tmp_path / "marker"
    ladder = tmp_path / "ladder"
    ladder.mkdir()
    stage = {"name": "baseline", "overrides": ["model=tiny", as_override("+callbacks.extra", payload(kind, marker))],
             "gate": {}}
    record = {"settings": {"warm_start": False, "continue_on_fail": False, "ladder": [stage]},
              "overrides": ["trainer.max_epochs=1"], "stages": []}
    (ladder / "stages.json").write_text(json.dumps(record))
    process = run_script("train.py", f"resume={ladder}", *FAST)
    assert process.returncode not in (0, None), process.stdout[-2000:] + process.stderr[-2000:]
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    paragraph = [line for line in process.stderr.splitlines() if "runs/allowlist.py" in line]
    assert paragraph and str(ladder / "stages.json") in paragraph[-1] and "callbacks.extra._target_" in paragraph[-1], \
        process.stderr[-3000:]
    assert "Epoch" not in process.stdout and "test/acc" not in process.stdout  # no training
    assert not marker.exists(), "the payload ran"
    assert sorted(p.name for p in ladder.iterdir()) == ["stages.json"]  # no stage folder
