"""The fastest paths stay fast: what a run imports before it fails or trains (issue: import floor).

Import time is most of a short run's wall time (torch + lightning ~4 s); these tests read the
imports a run made (`python -X importtime`, through PYTHONPROFILEIMPORTTIME) rather than time it.
"""

import pytest

from conftest import FAST, IMPORT_TIMES, imported_packages, run_script

OPTIONAL_HEAVY = {"sklearn", "optuna", "kornia", "pandas"}  # imported only where they are used


@pytest.mark.fast
def test_a_bad_value_fails_before_torch_and_lightning_are_imported(tmp_path):
    process = run_script("train.py", f"hydra.run.dir={tmp_path / 'run'}", "optimizer.lr=0", env=IMPORT_TIMES)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    assert "optimizer.lr" in process.stderr
    imported = imported_packages(process)
    assert "hydra" in imported  # the reading works: the config was composed
    assert not {"torch", "lightning"} & imported, sorted(imported)
    run_dir = tmp_path / "run"
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


def test_the_overfit_check_imports_no_optional_heavy_package(tmp_path):
    process = run_script("train.py", f"hydra.run.dir={tmp_path / 'run'}", f"paths.log_dir={tmp_path}",
                         "model=small", "data=tiny", *FAST, env=IMPORT_TIMES)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-2000:]
    assert "PASSED" in process.stdout
    imported = imported_packages(process)
    assert {"torch", "lightning"} <= imported
    assert not OPTIONAL_HEAVY & imported, sorted(OPTIONAL_HEAVY & imported)
