"""resume=<ladder folder> composes what its stages.json names: a record carrying a payload builds nothing."""

import json

import pytest

from conftest import FAST, run_script
from payloads import KINDS, as_override, payload


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
