"""The commands a sweep prints run when pasted into bash: the one that finishes it (printed at its start)
and the one that reproduces its best job as a single run, with overrides that hold `=`, `,` and a list."""


import yaml

from conftest import FAST, read_metrics, when_room
from printed_commands import bash, printed

# `,` and brackets (a list value) and an experiment; tiny and quick
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", "data.subset=200", "trainer.max_epochs=1",
         *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]


def test_the_sweep_summary_commands_run_as_printed(tmp_path):
    process = bash(" ".join(["python train.py -m data.split_seed=0,1", *(f"'{o}'" for o in SETUP),
                             f"paths.log_dir={tmp_path}"]))
    assert process.returncode == 0, process.stderr[-3000:]
    [best] = [line.removeprefix("reproduce the best: ") for line in process.stdout.splitlines()
              if line.startswith("reproduce the best: ")]
    assert "'model.blocks=[1,1]'" in best and "experiment=example" in best, best
    [sweep] = (tmp_path / "multiruns").iterdir()
    finished = {job: (sweep / job / "metrics.json").stat().st_mtime_ns for job in ("0", "1")}
    finishing = {c for c in printed(process) if c.startswith("python train.py -m")}  # printed at the start
    assert len(finishing) == 1, printed(process)
    for finish in finishing:
        again = bash(finish)  # the sweep is done by now: it finishes nothing, trains nothing again
        assert again.returncode == 0, (finish, again.stderr[-3000:])
        assert {job: (sweep / job / "metrics.json").stat().st_mtime_ns for job in finished} == finished, finish
    again = bash(best)
    assert again.returncode == 0, again.stderr[-3000:]
    [run_dir] = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())  # a single run, the best job's overrides
    recorded = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    assert "model.blocks=[1,1]" in recorded and "test/acc" in read_metrics(run_dir)
