"""Keep the first training batch of each epoch (after augmentation) for display."""
from __future__ import annotations


class BatchTap:
    """Wraps a DataLoader's collate function; after `arm()`, keeps the next batch collated.

    Works when batches are collated in this process (`num_workers: 0`); with worker
    processes the tap stays empty.
    """

    def __init__(self, inner):
        self.inner, self.batch, self._armed = inner, None, True

    def arm(self):
        self.batch, self._armed = None, True

    def __call__(self, samples):
        batch = self.inner(samples)
        if self._armed:
            self.batch, self._armed = batch, False
        return batch
