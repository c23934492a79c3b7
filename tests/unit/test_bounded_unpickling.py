"""Weights and state files are unpickled within a memory budget fixed by the file's size:
payloads of a few bytes that make CPython's C unpickler or numpy allocate gigabytes
(a huge memo index, an array reconstructed at full size, an object array filled from a
list, a length field larger than the file) are refused at a peak no higher than loading a
clean file. Each payload is hand-written opcode by opcode."""
import pickle
import struct
import sys

import numpy as np
import pytest

from paddle_suite.errors import UserError
from paddle_suite.runs.checkpoint import load_weights

from ..conftest import run_with_peak

RECONSTRUCT = b"cnumpy.core.multiarray\n_reconstruct\n"
EMPTY = RECONSTRUCT + b"cnumpy\nndarray\nK\x00\x85C\x01b\x87R"  # _reconstruct(ndarray, (0,), b'b')


def dtype(code: bytes) -> bytes:
    return b"cnumpy\ndtype\nX" + struct.pack("<I", len(code)) + code + b"\x89\x88\x87R"


PAYLOADS = {
    # LONG_BINPUT at index 2**31 - 16: the C unpickler sizes its memo table to the index
    "memo index": b"\x80\x02N" + b"r" + struct.pack("<I", 0x7FFFFFF0) + b".",
    # _reconstruct(ndarray, (2**30,), b'b'): numpy allocates the shape before any BUILD
    "reconstructed shape": RECONSTRUCT + b"cnumpy\nndarray\nJ\x00\x00\x00@\x85C\x01b\x87R.",
    # an object array of 500 million entries from an empty list
    "object array": b"\x80\x02" + EMPTY + b"(K\x01J\x00e\xcd\x1d\x85" + dtype(b"O8")
    + b"\x89]tb.",
    # float64 with a shape of 2**28 and no bytes: the state does not match the shape
    "bytes short of the shape": b"\x80\x02" + EMPTY + b"(K\x01J\x00\x00\x00\x10\x85"
    + dtype(b"f8") + b"\x89C\x00tb.",
    # a 2 GB element type
    "huge item type": b"\x80\x02" + dtype(b"V2000000000") + b".",
    # BINBYTES and LONG4 claiming 4 GB in a tiny file
    "length field": b"\x80\x03B\xff\xff\xff\xffabc.",
    "long integer": b"\x80\x02\x8b\xff\xff\xff\x7fabc.",
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_payload_is_refused_with_a_named_error(tmp_path, name):
    path = tmp_path / "bad.pdparams"
    path.write_bytes(PAYLOADS[name])
    with pytest.raises(UserError, match="refused to load|not a readable|expected a dict"):
        load_weights(path)


def test_every_payload_stays_within_the_budget_of_a_clean_file(tmp_path):
    clean = tmp_path / "clean.pdparams"
    with open(clean, "wb") as f:
        pickle.dump({"w": np.ones((4, 4), np.float32)}, f, protocol=2)
    code = ("import sys; from paddle_suite.runs.checkpoint import load_weights\n"
            "for path in sys.argv[1:]:\n"
            "    try: load_weights(path)\n"
            "    except Exception as exc: print(type(exc).__name__, str(exc)[:100])\n")
    files = []
    for i, payload in enumerate(PAYLOADS.values()):
        files.append(tmp_path / f"p{i}.pdparams")
        files[-1].write_bytes(payload)
    status, _, baseline = run_with_peak([sys.executable, "-c", code, clean])
    status, out, peak = run_with_peak([sys.executable, "-c", code, *files])
    assert status == 0 and out.count("UserError") + out.count("UnsafeFileError") == len(files), out
    assert peak < baseline + 64 / 1024, f"{peak:.3f} GB against {baseline:.3f} GB clean"


def test_real_arrays_of_every_plain_dtype_round_trip(tmp_path):
    state = {f"t{i}": np.arange(12).astype(t).reshape(3, 4)
             for i, t in enumerate(["float32", "float64", "float16", "int64", "int8", "uint8",
                                    "bool", "complex64"])}
    state["fortran"] = np.asfortranarray(np.ones((3, 5), np.float32))
    state["scalar"] = np.float32(1.5)
    for protocol in (2, 3, 4):  # paddle.save writes 2 to 4
        path = tmp_path / f"ok{protocol}.pdparams"
        with open(path, "wb") as f:
            pickle.dump(state, f, protocol=protocol)
        loaded = load_weights(path)
        assert all(np.array_equal(loaded[k], v) and loaded[k].dtype == np.asarray(v).dtype
                   for k, v in state.items())
