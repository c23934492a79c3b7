"""Seeing a run: VisualDL records, PNG plots and a per-run report."""
