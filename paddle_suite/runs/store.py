"""One run's weight files, each set of weights written once (as timm's checkpoint saver keeps
`last` and the top-k as copies of one file, by hard links).

A run saves the same weights under several names: `best.pdparams` when an evaluation
improved, a top-k file, the epoch's resume checkpoint, a snapshot, `final.pdparams` when
training ends as the last epoch left it. `CheckpointStore.save` serialises the weights, and
when a file of this run already holds exactly those bytes (same SHA-256, and the file is
still the one written: same inode and size), the new name becomes a hard link to it instead
of a second write. Every name is replaced atomically (temporary name, then rename), so a
crash leaves the previous file; where hard links are not possible (another file system) the
file is copied. One store per run (`RunCallbacks.store`); a callback used on its own
makes its own.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .checkpoint import atomic_write_bytes, link_or_copy, weights_bytes


class CheckpointStore:
    """Writes weight files so that each distinct content is written once per run."""

    def __init__(self):
        self._held = {}  # sha256 -> (path, inode, size) of a file holding those bytes

    def save(self, state_dict, path: str | Path) -> Path:
        """Save a state dict to `path`: a link to an earlier file of the same bytes, else
        an atomic write."""
        return self.put(Path(path), weights_bytes(state_dict))

    def put(self, path: Path, data: bytes) -> Path:
        digest = hashlib.sha256(data).hexdigest()
        holder = self._holder(digest)
        if holder is not None and holder != path:
            link_or_copy(holder, path)
        else:
            atomic_write_bytes(path, data)
        self.remember(path, digest)
        return path

    def remember(self, path: Path, digest: str) -> None:
        """Note that `path` holds the bytes of `digest` (a file written elsewhere, e.g.
        inside a checkpoint directory renamed into place)."""
        try:
            st = path.stat()
        except OSError:
            return
        self._held[digest] = (path, st.st_ino, st.st_size)

    def _holder(self, digest: str) -> Path | None:
        """The file known to hold `digest`, if it still does (not replaced since)."""
        held = self._held.get(digest)
        if held is None:
            return None
        path, inode, size = held
        try:
            st = path.stat()
        except OSError:
            return None
        return path if (st.st_ino, st.st_size) == (inode, size) else None
