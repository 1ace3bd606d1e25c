"""The national-scale benchmark: `python bench/run.py [--quick]` (see bench/README section of the main README)."""
