"""Where a sweep's jobs run: joblib (local processes), submitit (SLURM; tested with its local
executor), Ray (a cluster; tested against a local Ray started here). Each is a real 2-job sweep on
200 digits, 1 epoch; each job must write its metrics.json and run in its own process with its share
of the cores as torch threads (sweeps/threads_per_job.py, logged in the job's train.log).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import FAST, ROOT, run_script, when_room
from {{cookiecutter.package_name}}.sweeps.threads_per_job import usable_cores

TINY_JOB = ["trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), "model=tiny", "data.subset=200", *FAST]


def sweep(tmp_path: Path, *launcher: str, env: dict | None = None) -> list[tuple[int, int]]:
    """Run a 2-job sweep (seed=0,1) with these launcher overrides; each job's (process id, torch threads)."""
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=0,1", *launcher, f"hydra.sweep.dir={folder}",
                         f"paths.log_dir={tmp_path}", *TINY_JOB, env=env)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    jobs = []
    for job in ("0", "1"):
        assert (folder / job / "metrics.json").is_file(), sorted(p.name for p in folder.iterdir())
        log = (folder / job / "train.log").read_text()
        found = re.search(rf"job {job}: process (\d+) trains with (\d+) torch thread", log)
        assert found, log[-2000:]
        jobs.append((int(found[1]), int(found[2])))
    return jobs


def test_joblib_runs_two_jobs_side_by_side_each_on_its_share_of_the_cores(tmp_path):
    jobs = sweep(tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    (first_pid, first_threads), (second_pid, second_threads) = jobs
    assert first_pid != second_pid  # two worker processes: a sequential sweep runs every job in one
    assert first_threads == second_threads == max(1, usable_cores() // 2)


def test_submitit_local_runs_two_jobs_each_in_its_own_process(tmp_path):
    jobs = sweep(tmp_path, "hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1",
                 "hydra.launcher.timeout_min=10")
    assert jobs[0][0] != jobs[1][0]
    assert [threads for _, threads in jobs] == [1, 1]  # cpus_per_task
    assert len(list((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))) == 2  # submitit's own record


@pytest.fixture
def local_ray():
    """A Ray cluster of one node on this machine (`ray start --head`), as a user's cluster would be: its
    address. Its workers import the project like the nodes of a cluster where it is installed."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the [ray] extra is not installed")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "src"), RAY_USAGE_STATS_ENABLED="0")
    ray = Path(sys.executable).with_name("ray")
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 characters
    head = subprocess.Popen(
        [str(ray) if ray.exists() else shutil.which("ray"), "start", "--head", "--block", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        for _ in range(120):  # the head is up when its port answers (tens of seconds on a busy machine)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None, "ray start --head failed"
                time.sleep(1)
        yield f"127.0.0.1:{port}"
    finally:  # stop this Ray and only this one: `ray start --block` stops its processes on SIGTERM
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)  # they all belong to the session started above
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_ray_runs_two_jobs_on_a_running_cluster_each_reserving_one_cpu(tmp_path, local_ray):
    jobs = sweep(tmp_path, "hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={local_ray}")
    assert jobs[0][0] != jobs[1][0]  # 2 CPUs, 1 per job: both ran at once, in two Ray workers
    assert [threads for _, threads in jobs] == [1, 1]  # ray.remote.num_cpus


@pytest.mark.fast
def test_a_launcher_whose_plugin_is_missing_names_the_extra_that_installs_it(tmp_path):
    # Python sees the plugin as not installed (a None entry in sys.modules makes its import fail), as on a
    # plain `pip install -e .`; the command stops before Hydra composes anything.
    script = ("import runpy, sys; sys.modules['hydra_plugins.hydra_joblib_launcher'] = None; "
              f"sys.argv = ['train.py', *sys.argv[1:]]; runpy.run_path({str(ROOT / 'train.py')!r}, run_name='__main__')")
    process = subprocess.run(
        [sys.executable, "-c", script, "-m", "seed=0,1", "hydra/launcher=joblib", f"paths.log_dir={tmp_path}"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == 2, process.stderr[-2000:]
    assert 'pip install -e ".[sweeps]"' in process.stderr and "hydra/launcher=joblib" in process.stderr
    assert "Traceback" not in process.stderr
    assert not (tmp_path / "multiruns").exists()


def test_a_sweep_without_optuna_says_which_extra_installs_it(tmp_path):
    # Python sees optuna as not installed (a None entry in sys.modules makes its import fail), as on a plain
    # `pip install -e .`; without the check the sweep would start and end in ModuleNotFoundError: optuna.
    script = ("import runpy, sys; sys.modules['optuna'] = None; "
              f"sys.argv = ['train.py', *sys.argv[1:]]; runpy.run_path({str(ROOT / 'train.py')!r}, run_name='__main__')")
    for sweep in sorted(p.stem for p in (ROOT / "configs" / "sweep").glob("*.yaml")):
        process = subprocess.run(
            [sys.executable, "-c", script, "-m", f"sweep={sweep}", f"paths.log_dir={tmp_path}"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True, timeout=120,
        )
        assert process.returncode == 2, process.stderr[-2000:]
        assert 'pip install -e ".[sweeps]"' in process.stderr and f"sweep={sweep} needs" in process.stderr
        assert "optuna" in process.stderr and "Traceback" not in process.stderr
        assert not (tmp_path / "multiruns").exists()
