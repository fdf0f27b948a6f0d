"""The jittered log-grid: coarse to fine for one parameter, usually the learning rate.

A grid on a log scale (e.g. lr 1e-1, 1e-2, 1e-3, 1e-4), each point moved by a small random
factor so that repeated sweeps do not test the very same values. When the best point lies on
the border of what was tried, the optimum may be beyond it: try one point further out (again
and again, up to `max_extensions`). Then, optionally, best/3 and best*3 to refine.
No library does this border re-test; the sweeper (search_sweeper.py) runs the points it gives.

Plain functions of the results so far, so that tests can drive them with a synthetic objective:
    grid = JitteredLogGrid(low=1e-4, high=1e-1)
    points = grid.first_points()
    while points:
        results |= {p: objective(p) for p in points}   # None: the trial failed
        points = grid.next_points(results, maximize=True)
"""

import math
import random
from dataclasses import dataclass, field


@dataclass
class JitteredLogGrid:
    low: float                  # the initial grid spans [low, high] (both > 0)
    high: float
    step: float = 10.0          # neighbouring points are `step` times apart
    jitter: float = 0.1         # each point times step**u, u uniform in [-jitter, jitter] (10**0.1 = 1.26)
    max_extensions: int = 3     # points tried beyond a border, at most
    refine: float | None = 3.0  # at the end, best/refine and best*refine; None: no refinement
    seed: int = 0
    extensions: int = field(default=0, init=False)
    refined: bool = field(default=False, init=False)

    def __post_init__(self):
        self.rng = random.Random(self.seed)

    def first_points(self) -> list[float]:
        """high, high/step, ... down to low (within a rounding error), each jittered."""
        count = 1 + math.floor(math.log(self.high / self.low, self.step) + 1e-9)
        return [self.jittered(self.high / self.step**i) for i in range(count)]

    def next_points(self, results: dict[float, float | None], maximize: bool) -> list[float]:
        """The points to try next, given every tried point's result (None: failed); [] when done."""
        finished = {point: value for point, value in results.items() if value is not None and math.isfinite(value)}
        if not finished:
            return []  # every trial failed: nothing to go on
        best = (max if maximize else min)(finished, key=finished.get)
        if self.extensions < self.max_extensions:
            beyond = points_beyond_border(best, list(results), self.step)  # failed points count as tried
            if beyond:
                self.extensions += 1
                return [self.jittered(beyond)]
        if self.refine and not self.refined:
            self.refined = True
            return [rounded(best / self.refine), rounded(best * self.refine)]
        return []

    def jittered(self, point: float) -> float:
        return rounded(point * self.step ** self.rng.uniform(-self.jitter, self.jitter))


def points_beyond_border(best: float, tried: list[float], step: float) -> float | None:
    """One step beyond the border if `best` is the largest or smallest point tried, else None."""
    if best >= max(tried):
        return best * step
    if best <= min(tried):
        return best / step
    return None


def rounded(value: float) -> float:
    """3 significant digits: readable in folder names, overrides and the summary."""
    return float(f"{value:.3g}")
