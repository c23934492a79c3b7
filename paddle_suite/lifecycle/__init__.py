"""A run from start to finish: build everything from a validated config, train or evaluate
(`engine`), continue or extend a run, train seed groups, re-evaluate and predict with a
finished run's weights, and launch data-parallel jobs."""
