"""Our Hydra sweeper (configs/sweep/): Hydra finds it because it lives in the `hydra_plugins` namespace package."""
