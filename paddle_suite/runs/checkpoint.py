"""Atomic checkpoint files and a weights loader that never runs code from a file.

`paddle.save` writes a pickle. We write it to a temporary file in the same directory, flush
and fsync it, then `os.replace` it over the final name, so a crash leaves either the old file
or the new one, never half of one. `load_weights` reads `.pdparams` pickles through a
restricted unpickler that admits only numpy arrays and plain containers, and reads
`.safetensors` files directly.
"""
from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import paddle

from ..errors import UserError

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


MAX_VALUES = 1_000_000  # containers and items in one loaded file (a ResNet-50 has ~650)
MAX_DEPTH = 32
MAX_ITEM_BYTES = 1024   # the widest array element a file may declare (weights use 1-16)
_PADDLE_NAME_TABLE = "StructuredToParameterName@@"  # bookkeeping key paddle.save adds


class UnsafeFileError(UserError):
    """A weights file asked to run code (a pickle global outside the allow-list)."""


@contextlib.contextmanager
def named(path):
    """Give an OSError raised inside the block the file name it concerns (a failed write()
    or fsync() carries none), so the error the user sees names the file."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old content or the new, never a mix."""
    path = Path(path)
    with named(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600: follow the umask
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    _fsync_dir(path.parent)


def current_umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A temporary directory in `parent` with the permissions a plain mkdir would give
    (`tempfile.mkdtemp` makes 0700 whatever the umask)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def remove_stray_temp_files(directory: str | Path) -> list[str]:
    """Delete temp files an interrupted atomic write left in `directory`; return their names."""
    directory = Path(directory)
    stray = [p for p in directory.glob(".*.tmp") if p.is_file()] if directory.is_dir() else []
    for path in stray:
        path.unlink(missing_ok=True)
    return [p.name for p in stray]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def paddle_bytes(obj) -> bytes:
    """`paddle.save(obj)` into memory."""
    buffer = io.BytesIO()
    paddle.save(obj, buffer)
    return buffer.getvalue()


def weights_bytes(state_dict) -> bytes:
    """A weights file's bytes, as `paddle.save` writes {name: array}: the same weights give
    the same bytes whether they come from a network's tensors or a copy of them (early
    stopping's best weights), so the checkpoint store can link one to the other.
    `paddle.load` and hapi's `Model.load` read such a file as they read any state dict."""
    return paddle_bytes({name: value.numpy() if isinstance(value, paddle.Tensor)
                         else np.asarray(value) for name, value in state_dict.items()})


def link_or_copy(source: Path, target: Path) -> None:
    """Make `target` a hard link to `source` (a copy where the file system has no hard
    links), under a temporary name renamed over `target`: a crash leaves the old `target`."""
    temporary = target.parent / f".{target.name}.link.tmp"
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def atomic_save(obj, path: str | Path) -> None:
    """`paddle.save(obj)` to `path` atomically (temp file + fsync + rename)."""
    atomic_write_bytes(path, paddle_bytes(obj))


def _latin1_encode(text, encoding="utf-8"):
    """`_codecs.encode` as protocol-2 pickles use it (text -> bytes), and nothing else: other
    codecs (zlib, bz2...) could expand a small file enormously."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafeFileError(f"refused to load: the file asks to encode with {encoding!r}.")
    return text.encode("latin1")


def _empty_array(subtype, shape, dtype):
    """numpy's `_reconstruct` as pickles call it: an empty array the BUILD that follows
    fills. Any other shape would allocate before anything checked it."""
    if subtype is not np.ndarray or tuple(shape) != (0,):
        raise UnsafeFileError(f"refused to load: an array reconstructed as {subtype!r} with "
                              f"shape {shape!r} (pickles of arrays use an empty ndarray).")
    return np.ndarray.__new__(np.ndarray, (0,), _plain_dtype(dtype))


def _plain_dtype(*args):
    """numpy.dtype for numbers and bytes only: an object dtype would let a tiny file build
    an array of Python objects of any size."""
    try:
        dtype = np.dtype(*args[:3])
    except (TypeError, ValueError) as exc:
        raise UnsafeFileError(f"refused to load: not a dtype ({exc}).") from None
    if dtype.hasobject or dtype.itemsize > MAX_ITEM_BYTES:
        raise UnsafeFileError(f"refused to load: an array of Python objects or of "
                              f"{dtype.itemsize:,}-byte items ({dtype}), which no weights or "
                              "state file holds.")
    return dtype


_WRAPPED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _empty_array,
    ("numpy._core.multiarray", "_reconstruct"): _empty_array,
    ("numpy", "dtype"): _plain_dtype,
}


def _checked_array_state(array: np.ndarray, state) -> None:
    """Before ndarray.__setstate__: the state is (version, shape, dtype, fortran, bytes)
    with a plain dtype and exactly as many bytes as the shape needs, so numpy allocates
    nothing the file does not hold."""
    ok = (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], np.dtype)
          and not state[2].hasobject and isinstance(state[4], (bytes, bytearray))
          and isinstance(state[1], tuple) and all(isinstance(d, int) and d >= 0
                                                  for d in state[1]))
    if not ok or int(np.prod(state[1], dtype=object)) * state[2].itemsize != len(state[4]):
        raise UnsafeFileError("refused to load: an array whose stored bytes do not match its "
                              "shape and type.")
    array.__setstate__(state)


class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own (pure-Python) unpickler, restricted: only arrays of numbers and plain
    containers (`find_class`), arrays built only from bytes the file holds
    (`_checked_array_state`), and a memo that is a dict: the C unpickler allocates a table
    as large as the largest memo index a file names, before anything can check it."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, origin, encoding="ASCII"):
        super().__init__(file, encoding=encoding)
        self.origin = origin

    def find_class(self, module, name):
        if (module, name) in _WRAPPED_GLOBALS:
            return _WRAPPED_GLOBALS[module, name]
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 writes bytes
            return _latin1_encode
        raise UnsafeFileError(
            f"{self.origin}: refused to load: the file asks to run '{module}.{name}', which a "
            "weights file never needs. It may be malicious or not a weights file; convert "
            "trusted weights to .safetensors or re-save them with paddle.save(state_dict).")

    def load_build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, np.ndarray):
            _checked_array_state(target, state)
        elif isinstance(target, (np.dtype, dict)):
            self.stack.append(state)
            super().load_build()
            if isinstance(target, np.dtype):
                _plain_dtype(target)  # its state may not make it an object dtype
        else:
            raise UnsafeFileError(f"refused to load: the file sets the state of a "
                                  f"{type(target).__name__}.")
    dispatch[pickle.BUILD[0]] = load_build


def check_structure(obj, origin, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH):
    """Refuse a loaded structure with more than `max_values` containers and items when
    walked as a tree (a shared reference counts at every use) or nested deeper than
    `max_depth`: the walk stops at the first excess, so a tiny file whose nested shared
    lists would expand to billions of items costs nothing. Arrays, strings and numbers are
    leaves (their size is bounded by the file's)."""
    seen, stack = 0, [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_values or depth > max_depth:
            what = (f"more than {max_values:,} values" if seen > max_values
                    else f"containers nested deeper than {max_depth} levels")
            raise UserError(f"{origin}: refused to load: its structure has {what} (shared "
                            "references counted at each use), which no weights or state file "
                            "has. It is damaged or built to exhaust memory.")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for pair in item.items() for v in pair)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((v, depth + 1) for v in item)
    return obj


def _unpickle(file, origin, what: str, encoding: str = "ASCII"):
    """Restricted unpickling of `file`, then `check_structure`; every failure a UserError."""
    try:
        obj = _RestrictedUnpickler(file, origin, encoding=encoding).load()
    except UnsafeFileError:
        raise
    except RecursionError:
        raise UserError(f"{origin}: refused to load: nested too deeply.") from None
    except Exception as exc:  # truncated or not a pickle at all
        raise UserError(f"{origin}: not a readable {what} ({type(exc).__name__}: {exc}).") \
            from None
    return check_structure(obj, origin)


def load_pickle(path: str | Path):
    """Unpickle a file that may only contain arrays, numbers, strings and containers, of a
    bounded structure (`check_structure`). The file is read whole first, so a length field
    cannot make a read allocate more than the file holds: memory stays within about three
    times the file's size (its bytes, the arrays built from them, the structure)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}).") from None
    return _unpickle(io.BytesIO(data), path, "weights or state file")


def load_pickle_bytes(data: bytes, origin: str):
    """`load_pickle` for bytes already read (e.g. a member of an archive). Python 2 pickles
    (the CIFAR batches) keep their strings as bytes."""
    return _unpickle(io.BytesIO(data), origin, "pickle", encoding="bytes")


def _tensor_dict(state, path: Path) -> dict:
    """Check that a loaded weights file is {name: array}."""
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a dict of tensors, found {type(state).__name__}.")
    state.pop(_PADDLE_NAME_TABLE, None)
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, (np.ndarray, np.generic)):
            raise UserError(f"{path}: expected a dict of tensors; entry {str(key)[:80]!r} holds "
                            f"a {type(value).__name__}. Not a weights file.")
    return state


def load_safetensors(path: Path) -> dict:
    """Read a .safetensors file; a damaged or hostile header is a UserError naming the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    header = int.from_bytes(head, "little") if len(head) == 8 else -1
    if header < 2 or header > min(size - 8, 100 << 20):
        raise UserError(f"{path}: not a valid .safetensors file (its header length field says "
                        f"{header} bytes, the file has {size}).")
    try:
        from safetensors.numpy import load_file
        return dict(load_file(str(path)))
    except Exception as exc:  # noqa: BLE001 - safetensors' own errors vary by damage
        raise UserError(f"{path}: not a readable .safetensors file ({type(exc).__name__}: "
                        f"{(str(exc).splitlines() or [''])[0][:200]}).") from None


def load_weights(path: str | Path, tensors_only: bool = True) -> dict:
    """Read a state dict from `.pdparams` (restricted unpickler, bounded structure) or
    `.safetensors`. `tensors_only`: every value must be an array (weights files; an
    optimizer state also holds its schedule's plain values)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Weights file not found: {path}.")
    if path.suffix == ".safetensors":
        return load_safetensors(path)
    state = load_pickle(path)
    if tensors_only:
        return _tensor_dict(state, path)
    if not isinstance(state, dict):
        raise UserError(f"{path}: expected a dict, found {type(state).__name__}.")
    state.pop(_PADDLE_NAME_TABLE, None)
    return state


RUN_WEIGHTS = ("final.pdparams", "last.pdparams")


def weights_path(pointer: str | Path) -> Path:
    """Which weights a path means, for every tool and the Python API alike: a weights file
    is itself (a stem without `.pdparams` too); a run directory means the weights the run
    ended with, `checkpoints/final.pdparams` (the restored best epoch after early
    stopping), or for a run that has not finished, `checkpoints/last.pdparams` (its newest
    epoch). `best.pdparams`, `ema.pdparams` and the others are used when named."""
    p = Path(pointer)
    if p.is_dir():
        for name in RUN_WEIGHTS:
            if (p / "checkpoints" / name).is_file():
                return p / "checkpoints" / name
        raise UserError(f"{p}: no checkpoints/final.pdparams (a finished run) or "
                        "checkpoints/last.pdparams (an unfinished one) here; name a weights "
                        "file instead.")
    if not p.exists() and p.with_suffix(".pdparams").is_file():
        return p.with_suffix(".pdparams")
    return p


def load_into(net: paddle.nn.Layer, pointer: str | Path) -> Path:
    """Load weights into `net`; every tensor must be present with the right shape."""
    path = weights_path(pointer)
    state = load_weights(path)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {list(np.shape(state[k]))} vs {list(own[k].shape)}"
             for k in own if k in state and list(np.shape(state[k])) != list(own[k].shape)]
    if missing or unexpected or wrong:
        parts = [f"missing {missing[:5]}" if missing else "",
                 f"unexpected {unexpected[:5]}" if unexpected else "",
                 f"shape mismatch {wrong[:5]}" if wrong else ""]
        raise UserError(f"{path} does not fit the configured model (Arch): "
                        + "; ".join(p for p in parts if p) + ".")
    net.set_state_dict({k: np.asarray(v) for k, v in state.items()})
    return path
