"""The scale-up sweeper (experiment=scale_10x, src/hydra_plugins/search_sweeper/scale_up.py) reads a small
sweep's folder from disk: a job's overrides carrying a `_target_` off the allowlist are refused before any job."""


import pytest
import yaml

from conftest import FAST, run_script
from payloads import as_override, payload, refused


@pytest.mark.parametrize("kind", ["copyfile", "os_system"])
def test_a_scale_up_folder_carrying_a_payload_writes_nothing(tmp_path, kind):
    """hydra.sweeper.small=<folder>: summary.csv -> a job's run_dir -> its .hydra/overrides.yaml, checked first."""
    marker = tmp_path / "marker"
    small, job = tmp_path / "small", tmp_path / "small" / "0"
    (job / ".hydra").mkdir(parents=True)
    (small / "summary.csv").write_text(f"job,status,run_dir,val/acc\n0,finished,{job},0.5\n")
    overrides = ["optimizer.lr=0.01", as_override("+callbacks.extra", payload(kind, marker))]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"data": {"fraction": 0.05}}))
    large = tmp_path / "large"
    process = run_script("train.py", "-m", "experiment=scale_10x", f"hydra.sweeper.small={small}", *FAST,
                         f"hydra.sweep.dir={large}", f"paths.log_dir={tmp_path}")
    refused(process, job / ".hydra" / "overrides.yaml", "callbacks.extra._target_", marker)
    assert not list(large.glob("*/.hydra"))  # no job launched
