"""The README is the front door and docs/ holds the rest: short, no dangling link, and every command
it shows passes the project's command-line check (core/command_line.py). A room left out at bake time
takes its page, its README lines and so its commands with it; these tests check what is left.
"""

import re
import shlex

import pytest

from conftest import ROOMS, ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python (train|check)\.py ([^`\n]*)")
# what a room's README lines name: absent from the README of a bake without the room
ROOM_MARKS = {"checks": ["check.py", "docs/checks.md"], "diagnostics": ["docs/diagnostics.md"],
              "ensembles": ["eval.py", "docs/ensembles.md"], "curriculum": ["curriculum=", "docs/curriculum.md"],
              "stages": ["stages=", "docs/stages.md"], "pseudo_labels": ["pseudo_label.", "docs/pseudo_labels.md"],
              "sweeps": ["sweep=", "docs/sweeps.md"], "workflow": ["worklog.py", "ideas.py", "docs/workflow.md"]}


@pytest.mark.fast
def test_the_readme_reads_in_five_minutes():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.fast
def test_every_relative_link_of_the_readme_and_docs_resolves():
    dangling = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            path = target.split("#")[0]
            if not path or re.match(r"[a-z]+:", path):  # an anchor on the page, a web address
                continue
            if not (page.parent / path).exists():
                dangling.append(f"{page.relative_to(ROOT)}: {target}")
    assert dangling == []

# a file the docs name, e.g. `src/<package>/runs/allowlist.py`, `core/data.py`, `tests/core/test_resume.py`
PROJECT_FILE = re.compile(r"[`( ]((?:src|core|runs|tests|configs|benchmarks|checks|diagnostics|ensembles|curriculum"
                          r"|stages|pseudo_labels|sweeps|workflow)/[\w/.-]*\.(?:py|yaml|md))")


@pytest.mark.fast
def test_every_file_the_readme_and_docs_name_exists():
    """A module moved or renamed leaves no stale path in the docs (the user's own files, my_*/mine, aside)."""
    package = next(p for p in (ROOT / "src").iterdir() if (p / "run.py").exists())
    stale = [f"{page.relative_to(ROOT)}: {name}" for page in PAGES for name in PROJECT_FILE.findall(page.read_text())
             if not (ROOT / name).exists() and not (package / name).exists()
             and not re.search(r"/(my_\w+|mine)\.", name)]
    assert stale == []


@pytest.mark.fast
def test_the_readme_names_no_room_left_out():
    readme = (ROOT / "README.md").read_text()
    for room, marks in ROOM_MARKS.items():
        assert (ROOT / "docs" / f"{room}.md").exists() == (room in ROOMS), room
        if room not in ROOMS:
            assert [mark for mark in marks if mark in readme] == [], room


def shown_commands(pages) -> set[tuple[str, str]]:
    """(script, overrides) of every `python train.py ...` / `python check.py ...` that `pages` show, without the
    ones that hold a <placeholder> the user fills in."""
    text = "".join(p.read_text() for p in pages)
    return {(script, line.split(" # ")[0].strip()) for script, line in COMMAND.findall(text) if "<" not in line}


def command_line_problems(commands) -> list[str]:
    """What core/command_line.py (train.py and check.py read the command line with it) says about each command."""
    from hydra import compose, initialize_config_dir

    from {{cookiecutter.package_name}}.core.command_line import command_line_problem

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        compose("train")  # the check answers None when the configs do not compose: make sure they do
    flagged = []
    for script, line in sorted(commands):
        try:
            arguments = shlex.split(line)
        except ValueError:  # prose around a command, e.g. an opening quote, or a line continued with \
            continue
        if problem := command_line_problem(arguments, ROOT / "configs", script):
            flagged.append(f"python {script}.py {line}: {problem}")
    return flagged


@pytest.mark.fast
def test_every_command_of_the_readme_passes_the_command_line_check():
    """No false alarm on what the front door tells users to type."""
    commands = shown_commands([ROOT / "README.md"])
    assert len(commands) >= 10
    assert command_line_problems(commands) == []


def test_every_command_of_the_docs_and_configs_passes_the_command_line_check():
    """The same for docs/ and the comments of configs/ (a `???` key such as data.path included); slow only for
    their number (~90 commands at ~0.2 s)."""
    commands = shown_commands(PAGES[1:] + sorted((ROOT / "configs").rglob("*.yaml")))
    assert len(commands) >= 10
    flagged = command_line_problems(commands)
    assert all("stages=mine" in line for line in flagged), flagged  # mine: docs/stages.md's example of your own file


@pytest.mark.fast
def test_every_flag_the_docs_give_predict_and_eval_is_one_they_take(tmp_path):
    """`python predict.py ... --id-column id`, `python eval.py ... --k 3`: each flag shown is in the script's --help."""
    from conftest import run_script

    text = "".join(p.read_text() for p in PAGES)
    for script in ("predict.py", "eval.py"):
        flags = {flag for line in re.findall(rf"python {script} ([^`\n]*)", text)
                 for flag in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", line.split(" # ")[0])}
        if not (ROOT / script).exists():
            assert flags == set(), script  # a room left out took the script: its page went with it
            continue
        shown = run_script(script, "--help", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert [flag for flag in sorted(flags) if flag not in shown.stdout] == [], script
