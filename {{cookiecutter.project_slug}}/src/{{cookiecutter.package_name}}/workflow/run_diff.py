"""`python worklog.py diff <run a> <run b>`: what changed between two runs, and did it help?

Config keys (old -> new), code (commit, uncommitted changes), package versions, and the
metrics side by side with their difference. Reads only files (`.hydra/config.yaml`,
run_record.json, metrics.json): nothing is built or imported from a run.
"""

from pathlib import Path

from omegaconf import OmegaConf

from ..runs.run_files import read_run_file, read_run_record

MISSING = "(absent)"


def flat(node, prefix: str = "") -> dict:
    """{"optimizer.lr": 0.001, ...} of a nested dict (lists stay values)."""
    found = {}
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            found |= flat(value, name + ".")
        else:
            found[name] = value
    return found


def run_config(run_dir: Path) -> dict:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return {}
    config = read_run_file(path, "It is the run's config, written when the run started: restore it.", ValueError)
    return flat(OmegaConf.to_container(config, resolve=False))


def run_metrics(run_dir: Path) -> dict:
    path = run_dir / "metrics.json"
    return read_run_file(path, "Restore it, or train the run again.", ValueError) if path.is_file() else {}


def diff_lines(a, b) -> list[str]:
    """The report, line by line; an unknown folder raises FileNotFoundError naming it."""
    a, b = Path(a), Path(b)
    for run_dir in (a, b):
        if not (run_dir / ".hydra" / "config.yaml").is_file():
            raise FileNotFoundError(f"{run_dir} is not a run folder (no .hydra/config.yaml): give two folders "
                                    "listed by `python worklog.py`")
    lines = [f"a: {a}", f"b: {b}", "", "config (a -> b):"]
    config_a, config_b = run_config(a), run_config(b)
    changed = [k for k in sorted(config_a.keys() | config_b.keys()) if config_a.get(k, MISSING) != config_b.get(k, MISSING)]
    lines += [f"  {k}: {config_a.get(k, MISSING)} -> {config_b.get(k, MISSING)}" for k in changed] or ["  (the same)"]

    record_a, record_b = read_run_record(a, ValueError), read_run_record(b, ValueError)
    code_a, code_b = record_a.get("code", {}), record_b.get("code", {})
    lines += ["", "code:"]
    for name, code in (("a", code_a), ("b", code_b)):
        commit = code.get("git") or "not recorded (no git repository, or no run_record.json)"
        lines.append(f"  {name}: commit {commit}" + (" + uncommitted changes (code.patch)" if code.get("dirty") else ""))
    packages_a, packages_b = record_a.get("packages", {}), record_b.get("packages", {})
    different = [k for k in sorted(packages_a.keys() | packages_b.keys()) if packages_a.get(k) != packages_b.get(k)]
    lines += ["", "packages (a -> b):"]
    lines += [f"  {k}: {packages_a.get(k, MISSING)} -> {packages_b.get(k, MISSING)}" for k in different] or ["  (the same)"]

    metrics_a, metrics_b = run_metrics(a), run_metrics(b)
    lines += ["", f"{'metric':<28s} {'a':>10s} {'b':>10s} {'b - a':>10s}"]
    for key in sorted(metrics_a.keys() | metrics_b.keys()):
        if "/slice/" in key:
            continue  # per-class rows: see metrics.json
        va, vb = metrics_a.get(key), metrics_b.get(key)
        delta = f"{vb - va:+10.4f}" if va is not None and vb is not None else f"{'':>10s}"
        lines.append(f"{key:<28s} {number(va)} {number(vb)} {delta}")
    if not (metrics_a or metrics_b):
        lines.append("  (no metrics.json in either: neither run finished)")
    return lines


def number(value) -> str:
    return f"{value:10.4f}" if value is not None else f"{'-':>10s}"
