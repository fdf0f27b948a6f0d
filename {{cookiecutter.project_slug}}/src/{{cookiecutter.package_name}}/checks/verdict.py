"""What every check returns: a Verdict (PASS / WARN / FAIL / SKIP, the measured value, the expected range,
advice when it is not PASS). A check that cannot apply to the task says SKIP (`needs_classes`)."""

from dataclasses import dataclass, field

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"


@dataclass
class Verdict:
    status: str                  # PASS | WARN | FAIL | SKIP
    value: str                   # what was measured, readable
    expected: str                # the range a healthy setup falls in
    advice: str = ""             # one or two sentences when not PASS: what it means, what to do
    numbers: dict = field(default_factory=dict)  # the raw measurements, for checks.json
    check: str = ""              # set by run_checks
    seconds: float = 0.0


def needs_classes(task: str) -> Verdict:
    return Verdict(SKIP, f"a {task} task", "classes", "This check is about classes; it does not apply here.")
