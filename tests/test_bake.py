"""Baking: the answers, the hooks, and the shape of what comes out."""

import subprocess
import sys
import tomllib

import pytest
from conftest import TEMPLATE, bake, project_env

TEMPLATE_SYNTAX = ("{{", "{%", "cookiecutter.")


def leftover_template_syntax(project):
    hits = []
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            hits += [f"{path.relative_to(project)}: {s}" for s in TEMPLATE_SYNTAX if s in text]
    return hits


def test_default_bake_has_the_documented_layout(default_project):
    for name in ["README.md", "pyproject.toml", "train.py", "check.py", "eval.py", "predict.py",
                 "configs/train.yaml", "LICENSE", "src/my_project/run.py", "src/my_project/core/data.py",
                 "src/my_project/runs/predict.py", "tests", "benchmarks/overhead.py", "benchmarks/accuracy.py"]:
        assert (default_project / name).exists(), name
    assert leftover_template_syntax(default_project) == []


def test_baked_project_passes_ruff(default_project):
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=default_project,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_baked_dependencies_are_pinned_as_required(default_project):
    project = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in deps}
    assert {"lightning", "torch", "hydra-core", "omegaconf", "tensorboard", "torchmetrics",
            "scikit-learn", "kornia", "rich"} <= names
    assert "torchvision" not in names
    assert "lightning>=2.6.4" in deps
    assert "hydra-core>=1.3.2,<1.4" in deps
    assert {"pytest", "ruff"} <= {d.split(">")[0] for d in project["optional-dependencies"]["dev"]}
    for script in default_project.glob("*.py"):
        if "hydra.main" in script.read_text():
            assert 'version_base="1.3"' in script.read_text(), script


def test_template_test_requirements_cover_the_baked_dependencies(default_project):
    """CI installs requirements-test.txt once for the whole suite: it must hold every baked dependency."""
    project = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["sweeps"] + extras["slurm"] + extras["ray"]  # test_launchers.py
    have = (TEMPLATE / "requirements-test.txt").read_text().split()
    assert set(wanted) <= set(have), set(wanted) - set(have)


@pytest.mark.parametrize("license", ["MIT", "BSD-3-Clause", "none"])
def test_every_license_bakes(tmp_path, license):
    result = bake(tmp_path, license=license)
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my_project"
    assert (project / "LICENSE").exists() == (license != "none")
    if license != "none":
        assert license.split("-")[0] in (project / "LICENSE").read_text().replace(" ", "-")
    parsed = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert parsed.get("license") == (None if license == "none" else license)


def test_unusual_names_bake_into_valid_importable_code(tmp_path):
    name = 'Élan "Vital" d\'Été Ünïcode'
    description = 'Says "hi", uses \\ backslashes and \'quotes\''
    result = bake(tmp_path, project_name=name, description=description, author="Zoë O'Brien \"Z\"")
    assert result.returncode == 0, result.stderr
    [project] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert project.name.isascii() and project.name == "elan_vital_d_ete_unicode"
    parsed = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert parsed["description"] == description
    assert parsed["authors"][0]["name"] == "Zoë O'Brien \"Z\""
    assert name in (project / "README.md").read_text()
    assert leftover_template_syntax(project) == []
    imported = subprocess.run(
        [sys.executable, "-c", f"import {project.name}.run, {project.name}.core.models"],
        env=project_env(project), capture_output=True, text=True,
    )
    assert imported.returncode == 0, imported.stderr
    compiled = subprocess.run([sys.executable, "-m", "compileall", "-q", str(project)], capture_output=True)
    assert compiled.returncode == 0


@pytest.mark.parametrize(
    "answers, complaint",
    [
        ({"package_name": "torch"}, "shadow"),
        ({"package_name": "lightning"}, "shadow"),
        ({"package_name": "json"}, "shadow"),
        ({"package_name": "class"}, "keyword"),
        ({"package_name": "1st_project"}, "identifier"),
        ({"package_name": "my-project"}, "identifier"),
        ({"project_slug": "bad slug!"}, "folder name"),
        ({"python_version": "2.7"}, "python_version"),
    ],
)
def test_invalid_answers_fail_clearly_and_write_nothing(tmp_path, answers, complaint):
    result = bake(tmp_path, **answers)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert complaint in message and next(iter(answers.values())) in message, message
    assert list(tmp_path.iterdir()) == []
