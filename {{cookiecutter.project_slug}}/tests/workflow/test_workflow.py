"""The research workflow: run records and reproduce, the worklog (concurrent appends), diff of two
runs, the target, test-set discipline, readable run folder names."""

import json
import multiprocessing
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import FAST, ROOT, read_metrics, run_script, when_room
from {{cookiecutter.package_name}}.workflow.worklog import append_entry, read_entries

TINY = ["data.subset=200", "trainer.max_epochs=2", "model=tiny", *when_room("checks", "baselines=false"),
        *when_room("ensembles", "ensemble.k=0"), *FAST]


def start(*overrides):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *overrides], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_run_record_and_reproduce_give_equal_metrics(train, tmp_path):
    _, first = train(*TINY, "trainer.deterministic=true", "seed=3")
    record = json.loads((first / "run_record.json").read_text())
    assert "trainer.deterministic=true" in record["command"] and record["seed"] == 3
    assert record["status"] == "finished" and record["wall_time_s"] > 0
    assert record["packages"]["torch"] and record["packages"]["lightning"] and record["python"]
    assert record["machine"]["cpu"] and record["machine"]["cpu_count"] >= 1
    assert re.fullmatch(r"[0-9a-f]{40}", record["code"]["git"] or "") or "not a git repository" in record["code"]["note"]
    # a recorded version that differs from this machine's is named
    record["packages"]["torch"] = "0.0.1"
    (first / "run_record.json").write_text(json.dumps(record))

    process, again = train(f"reproduce={first}")
    assert "torch is" in process.stderr and "the run used 0.0.1" in process.stderr
    assert again != first and (again / "metrics.json").is_file()
    assert read_metrics(again) == read_metrics(first)  # deterministic on CPU: every number equal
    assert yaml.safe_load((again / ".hydra" / "config.yaml").read_text())["seed"] == 3

    # the recorded config is untrusted: a target off the allowlist is refused before anything is built
    config = yaml.safe_load((first / ".hydra" / "config.yaml").read_text())
    config["data"]["_target_"] = "os.system"
    (first / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    process, refused = train(f"reproduce={first}", expect_ok=False)
    assert process.returncode == 1 and "'os.system'" in process.stderr
    assert not (refused / "checkpoints").exists() and not (refused / "metrics.json").exists()


def test_code_patch_holds_untracked_source_files_and_gives_the_code_back(tmp_path):
    """A model file not yet committed is in code.patch as a new file: `git apply` on the commit restores it;
    data and logs are not saved (and a large or binary untracked file is named, not saved)."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns("logs", ".pytest_cache", "__pycache__", "*.egg-info"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(project)]
    subprocess.run([*git[:5], "init", "-q", str(project)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    (project / "src" / "my_model.py").write_text("WIDTH = 7  # a new model, not committed\n")
    (project / "data").mkdir()
    (project / "data" / "table.csv").write_text("a,b\n1,2\n")
    (project / "weights.bin").write_bytes(b"\0" * 100)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(project / "src"))
    process = subprocess.run([sys.executable, "train.py", f"paths.log_dir={tmp_path / 'logs'}",
                              f"hydra.run.dir={tmp_path / 'run'}", *TINY], cwd=project, env=env,
                             capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "code.patch leaves out 1 untracked file(s)" in process.stderr and "weights.bin" in process.stderr
    code = json.loads((tmp_path / "run" / "run_record.json").read_text())["code"]
    assert code["patch"] == "code.patch" and code["untracked_not_saved"] == ["weights.bin"]
    patch = (tmp_path / "run" / "code.patch").read_text()
    assert "src/my_model.py" in patch and "table.csv" not in patch

    again = tmp_path / "again"
    subprocess.run(["git", "clone", "-q", str(project), str(again)], check=True)
    subprocess.run(["git", "-C", str(again), "apply", str(tmp_path / "run" / "code.patch")], check=True)
    assert (again / "src" / "my_model.py").read_text() == "WIDTH = 7  # a new model, not committed\n"

    # reproduce= prints how to get that code back: the command runs as printed, in a clone of the project
    process = subprocess.run([sys.executable, "train.py", f"paths.log_dir={tmp_path / 'logs'}",
                              f"reproduce={tmp_path / 'run'}", f"hydra.run.dir={tmp_path / 'run2'}"], cwd=project,
                             env=env, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-3000:]
    advice = next(line for line in process.stderr.splitlines() if "git apply" in line)
    third = tmp_path / "third"
    subprocess.run(["git", "clone", "-q", str(project), str(third)], check=True)
    subprocess.run(["bash", "-c", advice.split("first: ", 1)[1]], cwd=third, check=True)
    assert (third / "src" / "my_model.py").is_file()


def append_many(path, writer: int) -> None:
    for i in range(40):
        append_entry(path, {"date": "d", "run": f"w{writer}/{i}", "status": "finished", "metrics": {"x": i},
                            "command": "c" * 3000, "note": f"writer {writer}"})  # long lines: no interleaving


def test_concurrent_runs_each_append_one_whole_worklog_line(tmp_path):
    # the lock alone, with many writers at once
    path = tmp_path / "stress" / "worklog.jsonl"
    writers = [multiprocessing.Process(target=append_many, args=(path, w)) for w in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    entries = read_entries(path)
    assert len(path.read_text().splitlines()) == 160 and len(entries) == 160
    assert len((tmp_path / "stress" / "worklog.md").read_text().splitlines()) == 6 + 160

    # real runs ending at about the same time: two finish, one fails (the overfit check)
    log_dir = tmp_path / "logs"
    runs = [start(*TINY, f"paths.log_dir={log_dir}", f"note=run {i}", f"optimizer.lr={lr}")
            for i, lr in enumerate((1e-3, 1e-2))]
    runs.append(start("data=tiny", "overfit_check.max_steps=2", f"paths.log_dir={log_dir}", "note=broken", *FAST))
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0, 1], outputs
    entries = read_entries(log_dir / "worklog.jsonl")
    assert sorted(e["note"] for e in entries) == ["broken", "run 0", "run 1"]
    status = {e["note"]: e["status"] for e in entries}
    assert status == {"run 0": "finished", "run 1": "finished", "broken": "failed"}
    finished = [e for e in entries if e["status"] == "finished"]
    assert all("test/acc" in e["metrics"] and e["tested"] for e in finished)
    assert any("_lr-0.01" in e["run"] for e in finished)  # readable folder names, safe to type
    rows = (log_dir / "worklog.md").read_text().splitlines()
    assert sum(row.startswith("| 20") for row in rows) == 3
    for e in finished:  # train.log ends with the headline metrics
        assert re.search(r"finished: test/acc=[\d.]+", (ROOT / e["run"] / "train.log").read_text().splitlines()[-1])

    table = run_script("worklog.py", "--log", str(log_dir / "worklog.jsonl"), "--grep", "run 1")
    assert table.returncode == 0 and "run 1" in table.stdout and "run 0" not in table.stdout
    table = run_script("worklog.py", "--log", str(log_dir / "worklog.jsonl"), "--where", "test/acc>=0")
    assert table.returncode == 0 and "broken" not in table.stdout and "run 0" in table.stdout


def test_target_test_set_budget_final_and_diff(train, tmp_path):
    target = "target={metric: test/acc, value: 0.99, why: requirement}"
    first, a = train(*TINY, target, "test_set_budget=1", "seed=1")
    assert "target test/acc >= 0.99: NOT MET" in first.stdout and "[requirement]" in first.stdout
    assert "test set has now scored" not in first.stderr
    same_setup, _ = train(*TINY, target, "test_set_budget=1", "seed=2")  # another seed: the same configuration
    assert "test set has now scored" not in same_setup.stderr
    second, b = train(*TINY, "target={metric: test/loss, value: 100}", "test_set_budget=1", "optimizer.lr=0.01",
                      "final=true")
    assert "target test/loss <= 100: MET" in second.stdout
    assert "the test set has now scored 2 distinct configurations (test_set_budget=1" in second.stderr
    entries = read_entries(tmp_path / "worklog.jsonl")
    assert [e["final"] for e in entries] == [False, False, True]
    assert entries[0]["target_result"]["met"] is False and entries[2]["target_result"]["met"] is True

    table = run_script("worklog.py", "--log", str(tmp_path / "worklog.jsonl"))
    assert "best test/loss so far" in table.stdout and "MET" in table.stdout and "final" in table.stdout

    diff = run_script("worklog.py", "diff", str(a), str(b))
    assert diff.returncode == 0, diff.stderr
    assert "optimizer.lr: 0.001 -> 0.01" in diff.stdout and "final: False -> True" in diff.stdout
    delta = read_metrics(b)["test/acc"] - read_metrics(a)["test/acc"]
    assert re.search(r"test/acc\s+[\d.]+\s+[\d.]+\s+" + re.escape(f"{delta:+.4f}"), diff.stdout)
    missing = run_script("worklog.py", "diff", str(a), str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "is not a run folder" in missing.stderr


@pytest.mark.fast
def test_a_bad_target_fails_before_training(train):
    process, run_dir = train("target={metric: test/acc, value: high}", expect_ok=False)
    assert process.returncode == 2 and "target.value='high' is not allowed" in process.stderr
    assert not (run_dir / "run_record.json").exists() and not (run_dir / "metrics.json").exists()


def test_ideas_rank_by_score_match_tried_runs_and_run_one(tmp_path):
    quick = " ".join([*TINY, f"paths.log_dir={tmp_path}"])
    (tmp_path / "ideas.yaml").write_text(yaml.safe_dump({
        "cheap_sure": {"run": "optimizer.lr=0.01", "time": 1, "complexity": 1, "impact": 4, "likelihood": 2},  # 8
        "costly": {"run": "model=large", "time": 5, "complexity": 2, "impact": 5, "likelihood": 2},  # 1
        "quick": {"run": quick, "time": 2, "complexity": 1, "impact": 2, "likelihood": 2},  # 2
    }))
    log = tmp_path / "worklog.jsonl"
    append_entry(log, {"date": "d", "run": "logs/runs/a", "status": "finished", "metrics": {"val/acc": 0.5},
                       "optimized_metric": "val/acc", "command": "c", "overrides": ["optimizer.lr=0.01", "seed=4"]})
    append_entry(log, {"date": "d", "run": "logs/runs/b", "status": "finished", "metrics": {"val/acc": 0.7},
                       "optimized_metric": "val/acc", "command": "c", "overrides": ["optimizer.lr=0.001"]})
    ranking = run_script("ideas.py", "--ideas", str(tmp_path / "ideas.yaml"), "--log", str(log))
    assert ranking.returncode == 0, ranking.stderr
    lines = [line.split() for line in ranking.stdout.splitlines()[1::2]]
    assert [(line[0], line[1]) for line in lines] == [("8.00", "cheap_sure"), ("2.00", "quick"), ("1.00", "costly")]
    assert "1x, last: finished, val/acc=0.5000 (logs/runs/a)" in ranking.stdout  # b had another lr
    assert lines[1][-1] == "-" and lines[2][-1] == "-"

    launched = run_script("ideas.py", "--ideas", str(tmp_path / "ideas.yaml"), "--log", str(log), "run", "quick")
    assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-2000:]
    assert read_entries(log)[-1]["note"] == "idea quick"
    ranking = run_script("ideas.py", "--ideas", str(tmp_path / "ideas.yaml"), "--log", str(log))
    assert re.search(r"quick .* 1x, last: finished, val/acc=", ranking.stdout)
    unknown = run_script("ideas.py", "--ideas", str(tmp_path / "ideas.yaml"), "run", "nope")
    assert unknown.returncode == 2 and "no idea 'nope'" in unknown.stderr


def test_every_shipped_idea_points_at_an_existing_option():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from {{cookiecutter.package_name}}.workflow.idea_backlog import overrides, read_ideas

    ideas = read_ideas(ROOT / "ideas.yaml")
    assert len(ideas) >= 10  # the ideas of the core alone; the rooms add theirs
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        for name, idea in ideas.items():
            # a sweep's first value stands for all (a list value like [0.9,0.99] stays whole)
            first = [re.sub(r"=([^\[,]+),.*", r"=\1", o) for o in overrides(idea)]
            cfg = compose("train", overrides=first)  # an unknown key, group or option fails here
            for override in first:
                key = override.split("=", 1)[0]
                assert "." not in key or OmegaConf.select(cfg, key) is not None, (name, key)  # a value is set


@pytest.mark.fast
def test_a_sweep_appends_one_line_with_its_best_job(tmp_path, capsys):
    from omegaconf import OmegaConf

    from {{cookiecutter.package_name}}.workflow.worklog import append_sweep_entry

    config = OmegaConf.create({"note": "lr sweep", "paths": {"log_dir": str(tmp_path)}, "target": None,
                               "hydra": {"overrides": {"task": ["optimizer.lr=1e-3,1e-2"]}}})
    append_sweep_entry(tmp_path / "multiruns" / "s", {"val/acc": 0.9, "test/acc": 0.8, "fit/gap": 0.1}, failed=1,
                       jobs=2, best_job="1", config=config)
    [entry] = read_entries(tmp_path / "worklog.jsonl")
    assert entry["kind"] == "sweep" and entry["status"] == "1 failed" and entry["note"] == "lr sweep"
    assert entry["metrics"] == {"val/acc": 0.9, "test/acc": 0.8} and entry["overrides"] == ["optimizer.lr=1e-3,1e-2"]
    assert "best job: 1" in (tmp_path / "worklog.md").read_text()
    # its jobs scored on the test set count for the test-set budget like single runs
    budget = OmegaConf.merge(config, {"test_set_budget": 2})
    append_sweep_entry(tmp_path / "multiruns" / "t", {"test/acc": 0.8}, failed=0, jobs=3, config=budget,
                       tested_setups=["a", "b", "c"])
    assert "the test set has now scored 3 distinct configurations (test_set_budget=2" in capsys.readouterr().err
