"""The commands the worklog and the idea backlog print run when pasted into bash: the command of a run in
logs/worklog.md (a note with `=` and `,`, a list value, an experiment), `python worklog.py`, and the line
`python ideas.py run` prints (tests/core/test_printed_commands.py: the other printed commands)."""

import re
from pathlib import Path

import pytest
import yaml

from conftest import FAST, read_metrics, when_room
from printed_commands import bash, one

# `=` and `,` (in the note and the list), a list value and an experiment; tiny and quick
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", 'note="a=b, c"', "data.subset=200",
         "trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]
COMMAND = re.compile(r"`((?:python|tensorboard) [^`]+)`|(?:^|: )((?:python \w+\.py|tensorboard) [^`]*?)\.?$")


def run_folders(log_dir: Path) -> list[Path]:
    return sorted(p for p in (log_dir / "runs").iterdir() if p.is_dir()) if (log_dir / "runs").is_dir() else []


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(process, run folder, log dir) of one finished run with the overrides above."""
    log_dir = tmp_path_factory.mktemp("logs")
    process = bash(" ".join(["python train.py", *(f"'{o}'" for o in SETUP), "seed=3", f"paths.log_dir={log_dir}"]))
    assert process.returncode == 0, process.stderr[-3000:]
    [run_dir] = run_folders(log_dir)
    return process, run_dir, log_dir


def test_the_worklog_commands_and_folders_run_as_printed(finished, tmp_path):
    _, run_dir, log_dir = finished
    listed = bash(f"python worklog.py --log {log_dir / 'worklog.jsonl'} --last 0")
    assert listed.returncode == 0 and str(run_dir) in listed.stdout, listed.stdout  # the whole folder, never cut
    command = re.findall(r"`(python train\.py [^`]+)`", (log_dir / "worklog.md").read_text())[0]  # the first run
    assert command.endswith(f"paths.log_dir={log_dir}") and "'note=\"a=b, c\"'" in command, command
    again = bash(command.replace(f"paths.log_dir={log_dir}", f"paths.log_dir={tmp_path}"))  # the same run again
    assert again.returncode == 0, again.stderr[-3000:]
    [rerun] = run_folders(tmp_path)
    assert rerun.name[19:] == run_dir.name[19:]
    assert read_metrics(rerun)["test/acc"] == pytest.approx(read_metrics(run_dir)["test/acc"])


def test_an_idea_with_a_quoted_list_runs_and_its_running_line_runs_as_printed(tmp_path):
    run = " ".join([*(f"'{o}'" for o in SETUP if not o.startswith("note=")), f"paths.log_dir={tmp_path}"])  # as typed
    (tmp_path / "ideas.yaml").write_text(yaml.safe_dump(
        {"tiny_blocks": {"run": run, "time": 1, "complexity": 1, "impact": 1, "likelihood": 1}}))
    launched = bash(f"python ideas.py --ideas {tmp_path / 'ideas.yaml'} run tiny_blocks")
    assert launched.returncode == 0, launched.stderr[-3000:]
    again = bash(one(launched, "python train.py"))
    assert again.returncode == 0, again.stderr[-3000:]
    for run_dir in run_folders(tmp_path):  # the launched run and the one started by pasting its line
        recorded = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
        assert "model.blocks=[1,1]" in recorded and 'note="idea tiny_blocks"' in recorded, recorded
    assert len(run_folders(tmp_path)) == 2
