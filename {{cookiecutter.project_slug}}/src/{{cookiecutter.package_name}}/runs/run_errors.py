"""How a run ends other than by finishing: the exceptions that failures.report turns into an exit code.

Their own module, importing nothing: run folders (a folder in use), status.json (how a run ended) and
failures.report all name them, and none of those needs the others for it.
"""


class RunFailed(RuntimeError):
    """The run cannot succeed (e.g. overfit check FAILED, non-finite loss); the message says why. Exit code 1."""


class Pruned(RuntimeError):
    """A sweeper stopped this trial early (e.g. Optuna's pruner): recorded as pruned, not failed. Exit code 0."""


class Interrupted(RuntimeError):
    """Ctrl-C or SIGTERM stopped the run gracefully; the message says how to resume it. Exit code 130 or 143."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
