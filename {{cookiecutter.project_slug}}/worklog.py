"""The worklog: `python worklog.py [--grep TEXT] [--where 'test/acc>0.9'] [--last N]` prints recent runs;
`python worklog.py diff <run a> <run b>` what changed between two runs and the metric deltas.

Every run appends its line to logs/worklog.md and logs/worklog.jsonl when it ends (docs/workflow.md).
"""

import argparse
import operator
import re
import sys
from pathlib import Path

from {{cookiecutter.package_name}}.workflow.target import lower_is_better
from {{cookiecutter.package_name}}.workflow.worklog import read_worklog, skipped_lines, tested_setups

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq}


def metric_filter(text: str):
    """'test/acc>0.9' -> (metric, comparison, value)."""
    match = re.fullmatch(r"\s*([\w/.-]+)\s*(>=|<=|>|<|=)\s*([-+.\deE]+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use <metric><op><number>, op one of >= <= > < =, "
                                         "e.g. 'test/acc>0.9'")
    return match[1], COMPARISONS[match[2]], float(match[3])


def main() -> None:
    if sys.argv[1:2] == ["diff"]:
        return diff(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", default="logs/worklog.jsonl", help="the worklog (default logs/worklog.jsonl)")
    parser.add_argument("--grep", help="only entries whose note, command, run folder or status contain this text")
    parser.add_argument("--where", type=metric_filter, action="append", default=[],
                        help="only entries with this metric condition, e.g. 'test/acc>0.9' (repeatable)")
    parser.add_argument("--last", type=int, default=20, help="show the last N entries (default 20; 0: all)")
    args = parser.parse_args()
    entries, skipped = read_worklog(args.log)
    if skipped:
        print(skipped_lines(args.log, skipped), file=sys.stderr)
    if not entries:
        print(f"{args.log}: no entries yet (every `python train.py` adds one when it ends)")
        return
    shown = [e for e in entries if keep(e, args)]
    shown = shown[-args.last:] if args.last else shown
    metrics = sorted({k for e in shown for k in e["metrics"]}, key=lambda k: (not k.startswith("test/"), k))[:5]
    header = ["date", "run", "status", *metrics, "note"]
    rows = [[e["date"][5:16], e["run"], e["status"] + (" final" if e.get("final") else ""),
             *[f"{e['metrics'][k]:.4f}" if k in e["metrics"] else "-" for k in metrics], e.get("note") or ""]
            for e in shown]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    widths = [w if i == 1 else min(60, w) for i, w in enumerate(widths)]  # the run folder whole: it is typed back
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell)[:w].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\n{len(shown)} of {len(entries)} entries; {len(tested_setups(entries))} distinct configurations "
          "scored on the test set so far")
    print_best_against_target(entries)


def keep(entry: dict, args) -> bool:
    if args.grep:
        text = " ".join(str(entry.get(k) or "") for k in ("note", "command", "run", "status", "detail", "experiment"))
        if args.grep.lower() not in text.lower():
            return False
    return all(metric in entry["metrics"] and compare(entry["metrics"][metric], value)
               for metric, compare, value in args.where)


def print_best_against_target(entries: list[dict]) -> None:
    """The best result so far of the newest target's metric, and whether it meets the target."""
    target = next((e["target"] for e in reversed(entries) if e.get("target")), None)
    if target is None:
        print("no target set: add `target: {metric: test/acc, value: ..., why: ...}` to configs/train.yaml")
        return
    metric, lower = target["metric"], lower_is_better(target)
    scored = [e for e in entries if metric in e["metrics"]]
    if not scored:
        print(f"target {metric} {'<=' if lower else '>='} {target['value']}: no run has {metric} yet")
        return
    best = (min if lower else max)(scored, key=lambda e: e["metrics"][metric])
    value = best["metrics"][metric]
    met = value <= target["value"] if lower else value >= target["value"]
    print(f"best {metric} so far: {value:.4f} ({best['run']}); target {'<=' if lower else '>='} {target['value']}: "
          + ("MET" if met else f"NOT MET, {abs(target['value'] - value):.4f} to go")
          + (f"  [{target['why']}]" if target.get("why") else ""))


def diff(arguments: list[str]) -> None:
    from {{cookiecutter.package_name}}.workflow.run_diff import diff_lines

    if len(arguments) != 2:
        print("usage: python worklog.py diff <run folder a> <run folder b>", file=sys.stderr)
        sys.exit(2)
    try:
        lines = diff_lines(Path(arguments[0]), Path(arguments[1]))
    except (FileNotFoundError, ValueError) as error:  # ValueError: a damaged file of a run (runs/run_files.py)
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
