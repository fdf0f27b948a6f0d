"""A deep-learning research project: see README.md."""
