"""The idea backlog (`ideas.yaml`): ranked by expected value per effort, matched to the runs that tried them.

score = impact * likelihood / (time * complexity), each estimate from 1 (low) to 5 (high):
the methodology's "prioritize ideas by cost and expected impact". An idea is tried when a
worklog entry has all its overrides (`optimizer.lr=1e-4,1e-3,1e-2` of a sweep included), or
its experiment, or the note `idea <name>` (what `python ideas.py run <name>` adds).
"""

import shlex
from pathlib import Path

import yaml

ESTIMATES = ("time", "complexity", "impact", "likelihood")


def read_ideas(path) -> dict:
    """{name: idea}; a missing estimate or one outside 1..5 raises ValueError naming it."""
    ideas = yaml.safe_load(Path(path).read_text()) or {}
    for name, idea in ideas.items():
        for key in ("run", *ESTIMATES):
            value = (idea or {}).get(key)
            if key == "run" and not isinstance(value, str):
                raise ValueError(f"{path}: idea {name!r} needs `run:` (the overrides that test it, e.g. model=medium)")
            if key == "run" and value.strip() and not words(value):
                raise ValueError(f"{path}: idea {name!r} has run={value!r}: the overrides as typed after "
                                 "`python train.py` (quotes closed), e.g. \"'model.blocks=[1,1]' optimizer.lr=0.01\"")
            if key != "run" and not (isinstance(value, (int, float)) and 1 <= value <= 5):
                raise ValueError(f"{path}: idea {name!r} has {key}={value!r}: an estimate from 1 (low) to 5 (high)")
    return ideas


def score(idea: dict) -> float:
    return idea["impact"] * idea["likelihood"] / (idea["time"] * idea["complexity"])


def words(run: str) -> list[str]:
    """`run:` as the shell splits it (it is typed as after `python train.py`, quotes and all); [] if it cannot."""
    try:
        return shlex.split(run)
    except ValueError:  # an unclosed quote
        return []


def overrides(idea: dict) -> list[str]:
    """The `key=value` parts of `run:` (`-m` and other flags left out)."""
    return [token for token in words(idea["run"]) if not token.startswith("-")]


def tried_by(name: str, idea: dict, entries: list[dict]) -> list[dict]:
    """The worklog entries that tried this idea."""
    wanted = set(overrides(idea))
    return [e for e in entries
            if (wanted and wanted <= set(e.get("overrides") or []))
            or (e.get("experiment") and f"experiment={e['experiment']}" in wanted and len(wanted) == 1)
            or str(e.get("note") or "").startswith(f"idea {name}")]


def result(entry: dict) -> str:
    metrics = entry.get("metrics") or {}
    key = entry.get("optimized_metric") if entry.get("optimized_metric") in metrics else next(iter(metrics), None)
    return f"{entry['status']}, {key}={metrics[key]:.4f}" if key else entry["status"]


def ranked(ideas: dict, entries: list[dict]) -> list[tuple[float, str, dict, list[dict]]]:
    """(score, name, idea, runs that tried it), the highest score first (ties: as written in the file)."""
    rows = [(score(idea), name, idea, tried_by(name, idea, entries)) for name, idea in ideas.items()]
    return sorted(rows, key=lambda row: -row[0])
