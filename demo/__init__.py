"""The scripted 2024 season (`branchflow demo`) and the synthetic rosters tests and benchmarks use: not library code."""
