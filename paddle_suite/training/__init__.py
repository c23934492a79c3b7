"""What one training step is made of: optimizers and schedules, losses, metrics, mixed
precision, and the pure diagnosis of learning curves."""
