"""The Lambda code of every function, shipped as one importable package."""
