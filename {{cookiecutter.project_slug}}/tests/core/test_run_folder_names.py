"""Run folder names (runs/run_folder.run_name): which run is which in `ls logs/runs`, and safe to type back."""

from {{cookiecutter.package_name}}.runs.run_folder import run_name


def test_run_folder_names_tell_runs_apart_and_are_safe_to_type():
    assert run_name("") == ""
    assert run_name("model=large,optimizer.lr=0.01") == "_model-large_lr-0.01"
    assert run_name("experiment=example,model.blocks=[1,1],note=x,paths.log_dir=/a/b,~callbacks.progress_bar") \
        == "_experiment-example_blocks-1-1_no-progress_bar"
    assert run_name("data.path=/data/set/x.csv") == "_path-data-set-x.csv"
    assert run_name("+stages.ladder.3.enabled=false,+stages.ladder.4.enabled=false") \
        == "_3.enabled-false_4.enabled-false"  # the same last part twice: one more part tells them apart
    assert run_name("seed=3,trainer.max_epochs=12") == "_seed-3_max_epochs-12"
    assert run_name("model.name='a b*$c'") == "_name-a-b-c"
    assert len(run_name("a=" + "x" * 200)) == 61
    for name in ("_experiment-example_blocks-1-1_no-progress_bar", run_name("model.name='a b*$c',x={a:1,b:[2]}")):
        assert not set(name) & set("=,[]{}'\" *$:~"), name  # nothing Hydra's grammar or bash reads
