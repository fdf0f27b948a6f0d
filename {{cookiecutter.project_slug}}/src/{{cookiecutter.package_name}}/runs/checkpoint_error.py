"""The error of a checkpoint or run folder that cannot be used (exit code 1, runs/failures.py).

Its own module, without torch, so that runs/allowlist.py can raise it without importing
runs/checkpoints.py (which imports it back to check a checkpoint's targets).
"""


class CheckpointError(RuntimeError):
    """A checkpoint or run folder that cannot be used as asked; the message says which and what to do."""
