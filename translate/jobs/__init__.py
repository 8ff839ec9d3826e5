"""The use cases the CLI and the API run: training a run (train, sizes, rundir, progress, logs,
provenance), judging it (evaluate) and showing it (gallery)."""
