"""Every command the project prints runs when pasted into bash (docs/runs.md).

Runs whose overrides hold `=`, `,`, a list value and an experiment print commands at the end,
on Ctrl-C and SIGTERM, on a finished run, in a sweep's summary
and in eval.py's advice; each is collected from the output and executed
with `bash -c` exactly as printed, and must do what it says. Folder names hold nothing that bash
or Hydra's override grammar reads; folders named the old way (`..._seed=3,blocks=[1,1]`) still work.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FAST, ROOT, read_metrics, when_room
from printed_commands import bash, one, printed, words

# `=` and `,` (in the note and the list), a list value and an experiment; tiny and quick
NOTE = when_room("workflow", 'note="a=b, c"')  # the worklog's note (workflow/)
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", *NOTE, "data.subset=200",
         "trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]
UNSAFE = set("=,[]{}'\" *$:~;&|<>()!`\\")


def run_folders(log_dir: Path) -> list[Path]:
    return sorted(p for p in (log_dir / "runs").iterdir() if p.is_dir()) if (log_dir / "runs").is_dir() else []


def check_the_rest(process, done: set) -> None:
    """Any other command in the output starts and does its work (advice to run the checks: on the run's own
    setup; they may find problems, that is their job), anything else ends well."""
    for command in printed(process):
        if command in done or command.startswith("tensorboard"):
            continue
        assert "<" not in command, f"a placeholder is not a command: {command}"
        again = bash(command)
        ended_well = (0,)
{%- if cookiecutter.__with_checks == "yes" %}
        if command.startswith("python check.py"):
            assert "'model.blocks=[1,1]'" in command and "note" not in command, command  # this run's setup
            assert "run directory:" in again.stdout, (command, again.stderr[-3000:])
            ended_well = (0, 1)
{%- endif %}
        assert again.returncode in ended_well, (command, again.stderr[-3000:])
        done.add(command)


@pytest.mark.parametrize("value", ["logs/runs/2026-12-05_14-34-57_seed-3_max_epochs-12",
                                   "logs/runs/2026-12-05_14-34-57_seed=3,blocks=[1,1]", "a b", "it's", 'say "hi"',
                                   "x$HOME*", "back\\slash\\'", "3", "true", "{a:1}", "~/x"])
def test_any_value_printed_as_an_override_reaches_hydra_unchanged(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from {{cookiecutter.package_name}}.runs.printed_command import printed_command

    command = printed_command("train.py", ("resume", value))
    [script, argument] = words(command)  # what bash hands over
    assert script == "train.py"
    assert OverridesParser.create().parse_override(argument).value() == value, (command, argument)
    if value.startswith("logs/runs/2026-12-05_14-34-57_seed-3"):
        assert command == f"python train.py resume={value}"  # a new folder name needs no quotes at all


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(process, run folder, log dir) of one finished run with the overrides above."""
    log_dir = tmp_path_factory.mktemp("logs")
    process = bash(" ".join(["python train.py", *(f"'{o}'" for o in SETUP), "seed=3", f"paths.log_dir={log_dir}"]))
    assert process.returncode == 0, process.stderr[-3000:]
    [run_dir] = run_folders(log_dir)
    return process, run_dir, log_dir


def test_folder_names_are_safe_to_type_and_the_train_end_lines_run(finished):
    process, run_dir, log_dir = finished
    name = run_dir.name
    assert not UNSAFE & set(name) and len(name) <= 19 + 1 + 60, name
    assert name[20:].startswith("experiment-example_"), name  # still readable (and cut at 60)
    assert words(one(process, "tensorboard")) == ["--logdir", str(run_dir)]  # what TensorBoard would read
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert f"run directory: {run_dir}" in process.stdout
{%- if cookiecutter.__with_checks == "yes" %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert any(c.startswith("python check.py") for c in printed(process)), process.stdout  # the fit diagnosis
{%- endif %}
{%- endif %}
    check_the_rest(process, set())


def test_a_finished_run_resumed_bare_prints_a_command_that_trains_it_longer(finished, tmp_path):
    _, run_dir, _ = finished
    copy = tmp_path / "runs" / run_dir.name
    shutil.copytree(run_dir, copy)
    process = bash(f"python train.py resume={copy} paths.log_dir={tmp_path}")  # typed bare
    assert process.returncode == 0, process.stderr[-3000:]
    assert "has finished" in process.stdout
    longer = one(process, "python train.py resume=")
    assert longer == f"python train.py resume={copy} trainer.max_epochs=2"
    again = bash(longer)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training ran all 2 epochs" in again.stdout and "test/acc" in read_metrics(copy)
    assert run_folders(tmp_path) == [copy]  # resuming made no folder of its own
{%- if cookiecutter.__with_checks == "yes" %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    # advice to check names the run's own overrides, read from its folder (not `resume=`), its new budget too
    advice = one(again, "python check.py")
    assert "'model.blocks=[1,1]'" in advice and "trainer.max_epochs=2" in advice and "resume" not in advice, advice
{%- endif %}
{%- endif %}


def test_a_folder_named_the_old_way_is_resumed_evaluated_and_diffed_as_printed(finished, tmp_path):
    _, run_dir, _ = finished
    old = tmp_path / "runs" / "2026-12-05_14-34-57_experiment=example,blocks=[1,1],seed=3"
    shutil.copytree(run_dir, old)
    process = bash(f"python train.py \"resume='{old}'\" paths.log_dir={tmp_path}")  # Hydra's quotes
    assert process.returncode == 0, process.stderr[-3000:]
    longer = one(process, "python train.py")
    assert longer == f"python train.py \"resume='{old}'\" trainer.max_epochs=2", longer
    again = bash(longer)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training ran all 2 epochs" in again.stdout and "test/acc" in read_metrics(old)
{%- if cookiecutter.__with_ensembles == "yes" %}
    evaluated = bash(f"python eval.py '{old}'")
    assert evaluated.returncode == 0 and "single" in evaluated.stdout, evaluated.stderr[-3000:]
{%- endif %}
{%- if cookiecutter.__with_workflow == "yes" %}
    diffed = bash(f"python worklog.py diff '{old}' {run_dir}")
    assert diffed.returncode == 0 and "trainer.max_epochs" in diffed.stdout, diffed.stdout + diffed.stderr
{%- endif %}


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_the_continue_line_of_a_stopped_run_runs_as_printed(tmp_path, sig, code):
    longer = [o for o in SETUP if not o.startswith(("trainer.max_epochs", "data.subset"))] + ["trainer.max_epochs=3"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *longer, f"paths.log_dir={tmp_path}",
                                    "data.batch_size=16"], env=env, stdout=log, stderr=log)
    while not list(tmp_path.glob("runs/*/checkpoints/last.ckpt")):
        assert process.poll() is None, (tmp_path / "log").read_text()[-3000:]
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(sig)
    assert process.wait(timeout=120) == code, (tmp_path / "log").read_text()[-3000:]
    [run_dir] = run_folders(tmp_path)
    said = subprocess.CompletedProcess([], code, (tmp_path / "log").read_text(), "")
    resume = one(said, "python train.py resume=")
    assert resume == f"python train.py resume={run_dir}"
    again = bash(resume)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training ran all 3 epochs" in again.stdout and "test/acc" in read_metrics(run_dir)


def test_the_eval_advice_on_a_sweep_runs_as_printed(tmp_path):
    process = bash(" ".join(["python train.py -m data.split_seed=0,1", *(f"'{o}'" for o in SETUP),
                             f"paths.log_dir={tmp_path}"]))
    assert process.returncode == 0, process.stderr[-3000:]
    [sweep] = (tmp_path / "multiruns").iterdir()
{%- if cookiecutter.__with_ensembles == "yes" %}
    refused = bash(f"python eval.py {sweep} --across data.split_seed")  # two test sets: not combined
    assert refused.returncode == 1, refused.stdout[-3000:]
    advice = one(refused, "python eval.py")
    assert words(advice) == ["eval.py", str(sweep / "0")], advice
    alone = bash(advice)
    assert alone.returncode == 0 and "test set, top-" in alone.stdout, alone.stdout[-3000:] + alone.stderr[-3000:]
{%- endif %}
