"""DDP inside a sweep (sweeps/ddp_in_sweeps.py): each job of `-m ... trainer=ddp` starts its own 2 CPU processes."""

from conftest import FAST, read_metrics, run_script, when_room

DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "data.batch_size=32"]


def test_a_sweep_of_ddp_jobs_runs_each_job_in_its_own_processes(tmp_path):
    # Lightning alone would re-run the whole sweep in rank 1; here each job starts its 2 processes.
    sweep = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=0,1", "trainer.max_epochs=1", *when_room("ensembles", "ensemble.k=0"), *DDP, *FAST,
                         f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert process.stderr.count("GLOBAL_RANK: 1, MEMBER: 2/2") == 2, process.stderr[-3000:]
    assert process.stdout.count("training ran all 1 epochs") == 2, process.stdout[-3000:]
    for job in ("0", "1"):
        assert read_metrics(sweep / job)["test/acc"] > 0.0
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]  # no stray job folders
    assert not (tmp_path / "runs").exists()  # nor a run folder of a re-launched script
