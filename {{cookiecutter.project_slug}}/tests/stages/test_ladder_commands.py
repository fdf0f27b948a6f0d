"""The command a failed ladder prints runs when pasted into bash and goes on where the ladder stopped."""

from pathlib import Path

from conftest import FAST, read_metrics, when_room
from printed_commands import bash, one

# `=` and `,` (in the note and the list), a list value and an experiment; tiny and quick
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", *when_room("workflow", 'note="a=b, c"'), "data.subset=200",
         "trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]
UNSAFE = set("=,[]{}'\" *$:~;&|<>()!`\\")


def test_a_failed_ladder_prints_a_command_that_goes_on(tmp_path):
    (tmp_path / "configs" / "stages").mkdir(parents=True)
    (tmp_path / "configs" / "stages" / "two.yaml").write_text(
        "warm_start: false\ncontinue_on_fail: false\nladder:\n"
        "  - {name: hopeless, overrides: [], gate: {floor: 1.5, stop_when_missed: 1}}\n"  # val/acc never 1.5
        "  - {name: plain, overrides: [], gate: {}}\n")
    process = bash(" ".join(["python train.py stages=two", *(f"'{o}'" for o in SETUP), f"paths.log_dir={tmp_path}",
                             f"'hydra.searchpath=[file://{tmp_path / 'configs'}]'"]))
    assert process.returncode == 1, process.stderr[-3000:]
    [parent] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert not UNSAFE & set(parent.name), parent.name
    go_on = one(process, "python train.py resume=")
    assert go_on == f"python train.py resume={parent} stages.continue_on_fail=true"
    first = (parent / "01_hopeless" / "metrics.json").stat().st_mtime_ns
    again = bash(go_on)
    assert "test/acc" in read_metrics(parent / "02_plain"), again.stdout[-3000:] + again.stderr[-3000:]
    assert (parent / "01_hopeless" / "metrics.json").stat().st_mtime_ns == first  # not trained again
    assert Path(parent / "stages.md").read_text().count("| PASSED") == 1  # the second stage's gate: none, passed
