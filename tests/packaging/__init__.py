"""Packaging: pure wheels, the offline wheelhouse, the single-file CLI, no C extension."""
