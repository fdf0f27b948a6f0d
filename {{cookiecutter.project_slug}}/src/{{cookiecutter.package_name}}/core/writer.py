"""Where our callbacks put pictures and text: the run's TensorBoard writer, and matplotlib.

Scalars go through `pl_module.log` or `logger.log_metrics` (every logger gets them);
histograms, images and text exist only in TensorBoard, so they need its SummaryWriter.
"""


def tensorboard_writer(trainer):
    """The SummaryWriter of the run's TensorBoardLogger, or None when there is none."""
    from lightning.pytorch.loggers import TensorBoardLogger

    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend, imported on first use (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
