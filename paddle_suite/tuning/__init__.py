"""The tuning workflow: sanity checks, the LR range test, learning-curve diagnosis."""
