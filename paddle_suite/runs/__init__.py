"""What a run leaves on disk: its directory and lock, checkpoint files (written atomically,
loaded without running code), the store that writes each set of weights once, and the
resume checkpoint format."""
