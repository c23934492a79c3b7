"""Untrusted files: configs in odd encodings, weights built to exhaust memory, damaged
safetensors and manifests, images with odd names or huge headers, list files in Latin-1.

Every case must end in a UserError that names the file (the CLI turns it into one paragraph
and exit status 2), never a crash, a traceback or unbounded memory.
"""
import json
import os
import pickle
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from paddle_suite import ConfigError, UserError, load_config
from paddle_suite.data.files import file_list, image_folder
from paddle_suite.data.imageio import MAX_IMAGE_PIXELS, display_path, read_image
from paddle_suite.runs.checkpoint import MAX_VALUES, atomic_save, load_weights
from paddle_suite.runs.resume_checkpoint import verify

from ..conftest import LENET, ROOT, run_with_peak

CONFIG = "_base_: {base}\nGlobal: {{epochs: 1, experiment: café}}\n"


def write_config(tmp_path, data: bytes) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_unicode_configs_with_a_byte_order_mark_are_read(tmp_path, codec):
    path = write_config(tmp_path, CONFIG.format(base=LENET).encode(codec))
    assert load_config(path)["Global"]["experiment"] == "café"


@pytest.mark.parametrize("data, message", [
    (CONFIG.format(base=LENET).encode("latin-1"), "byte 0xe9 at line 2"),
    (CONFIG.format(base=LENET).encode("utf-16-le"), "NUL bytes"),
    (bytes(range(1, 256)) * 4, "not UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "NUL bytes"),
    (b"Global: {epochs: 1}\n" + b"#" * (1 << 20), "larger than 1,048,576 bytes"),
], ids=["latin-1", "utf-16-without-bom", "binary", "png", "too-large"])
def test_configs_in_other_encodings_or_binary_are_named(tmp_path, data, message):
    path = write_config(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_long_base_chain_is_refused(tmp_path):
    (tmp_path / "c0.yaml").write_text(f"_base_: {LENET}\n")
    for i in range(1, 40):
        (tmp_path / f"c{i}.yaml").write_text(f"_base_: c{i - 1}.yaml\n")
    with pytest.raises(ConfigError, match="_base_ chain longer than 16 files"):
        load_config(tmp_path / "c39.yaml")


@pytest.mark.parametrize("override, message", [
    ("Global.experiment={a: 1, a: 2}", "duplicate key 'a'"),
    ("Global.experiment=&x [*x]", "recursive alias"),
    ("Optimizer.lr.learning_rate=.nan", "expected a finite number"),
    ("Global.experiment=..", "not a plain directory name"),
])
def test_hostile_overrides_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LENET, [override])


# --- weights and state files -----------------------------------------------------------------

def nested_shared(levels: int, width: int = 2):
    node = [0.0]
    for _ in range(levels):
        node = [node] * width
    return node


@pytest.mark.parametrize("payload", [
    {"features.0.weight": nested_shared(60)},            # 2**60 leaves from a few hundred bytes
    {"features.0.weight": nested_shared(7, width=40)},   # shallow and wide: 40**7 leaves
    nested_shared(12, width=6),
])
def test_weights_whose_structure_would_explode_are_refused(tmp_path, payload):
    path = tmp_path / "bomb.pdparams"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    assert path.stat().st_size < 2000
    with pytest.raises(UserError, match="refused to load: its structure has"):
        load_weights(path)


def test_weights_holding_lists_instead_of_tensors_are_named(tmp_path):
    path = tmp_path / "lists.pdparams"
    path.write_bytes(pickle.dumps({"fc.weight": [[1.0, 2.0]], "fc.bias": "x"}, protocol=2))
    with pytest.raises(UserError, match="entry 'fc.weight' holds a list. Not a weights file"):
        load_weights(path)


def test_the_memory_bomb_stays_within_budget_through_the_cli(tmp_path):
    """tools/eval.py on a 500-byte file that would expand to 2**60 items: exit 2, and the
    whole process stays under 1.5 GB (importing paddle alone takes about 0.4 GB)."""
    bomb = tmp_path / "bomb.pdparams"
    bomb.write_bytes(pickle.dumps({"features.0.weight": nested_shared(60)}, protocol=2))
    code, out, peak = run_with_peak([sys.executable, ROOT / "tools" / "eval.py", "-c", LENET,
                                     "-o", f"Global.pretrained_model={bomb}"])
    assert code == 2 and "refused to load" in out and "Traceback" not in out
    assert peak < 1.5, f"peak {peak:.2f} GB"


def safetensors_file(tmp_path, header: bytes, body: bytes = b"", length=None) -> Path:
    path = tmp_path / "w.safetensors"
    size = len(header) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + header + body)
    return path


@pytest.mark.parametrize("make", [
    lambda t: safetensors_file(t, b"{}", length=10**15),
    lambda t: safetensors_file(t, b"not json at all"),
    lambda t: safetensors_file(t, b'{"w": {"dtype": "F32", "shape": [100000, 100000], '
                                  b'"data_offsets": [0, 40000000000]}}', b"\0" * 16),
    lambda t: safetensors_file(t, b'{"w": {"dtype": "XX", "shape": [2], '
                                  b'"data_offsets": [0, 8]}}', b"\0" * 8),
    lambda t: safetensors_file(t, b'{"w": {"dtype": "F32", "shape": [4], '
                                  b'"data_offsets": [8, 0]}}', b"\0" * 16),
    lambda t: safetensors_file(t, b'[1, 2, 3]'),
    lambda t: safetensors_file(t, b"", length=1)
])
def test_damaged_or_hostile_safetensors_are_named(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(UserError) as info:
        load_weights(path)
    assert str(path) in str(info.value)


def test_structure_budget_admits_real_checkpoints(tmp_path):
    import paddle
    net = paddle.vision.models.resnet18(num_classes=10)
    atomic_save(net.state_dict(), tmp_path / "r.pdparams")
    assert len(load_weights(tmp_path / "r.pdparams")) == len(net.state_dict()) < MAX_VALUES


# --- resume manifests --------------------------------------------------------------------------

@pytest.mark.parametrize("manifest", [
    b"[1, 2, 3]", b'{"epoch": "3", "files": {}}', b'{"epoch": 3, "files": []}',
    b'{"epoch": 3, "files": {"network.pdparams": 5}}', b"\xff\xfe\x00garbage", b"null",
])
def test_structurally_wrong_manifests_are_reported_not_raised(tmp_path, manifest):
    (tmp_path / "manifest.json").write_bytes(manifest)
    assert verify(tmp_path).startswith("manifest.json unreadable")


# --- images and lists ----------------------------------------------------------------------------

def write_png(path, value=0, size=(28, 28)):
    ok, buf = cv2.imencode(".png", np.full(size, value, np.uint8))
    with open(path, "wb") as f:
        f.write(buf.tobytes())


def png_with_declared_size(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_an_image_with_a_non_utf8_name_is_read(tmp_path):
    name = os.fsdecode(b"digit-\xe9\xff.png")  # not UTF-8: a surrogate-escaped str
    write_png(os.fsencode(tmp_path) + b"/digit-\xe9\xff.png", value=200)
    image = read_image(tmp_path / name, 1)
    assert image.shape == (28, 28, 1) and image.max() == 200
    assert display_path(tmp_path / name).endswith("digit-\\xe9\\xff.png")


def test_an_image_declaring_a_huge_size_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_with_declared_size(40_000, 40_000))
    with pytest.raises(UserError, match=f"over the {MAX_IMAGE_PIXELS:,} limit"):
        read_image(path, 1)


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a" + b"\0" * 20,
                                     bytes(range(256))])
def test_unreadable_images_are_named(tmp_path, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(UserError, match="Cannot read image .*bad.png"):
        read_image(path, 3)


def test_an_image_folder_with_odd_names_lists_printable_sources(tmp_path):
    for label in ("0", "1"):
        (tmp_path / label).mkdir()
        write_png(os.fsencode(tmp_path / label) + b"/\xe9t\xe9-" + label.encode() + b".png")
    data = image_folder(str(tmp_path))
    assert len(data) == 2 and data[1][0].shape == (28, 28, 1)
    assert all("\\xe9t\\xe9" in data.source(i) for i in range(2))
    json.dumps(data.sources)  # printable, storable


def test_a_latin1_file_list_names_the_files_it_lists(tmp_path):
    write_png(os.fsencode(tmp_path) + b"/caf\xe9.png")  # the image name is Latin-1 bytes too
    (tmp_path / "list.txt").write_bytes(b"caf\xe9.png 1\n")
    data = file_list(str(tmp_path), str(tmp_path / "list.txt"))
    assert len(data) == 1 and data[0][1] == 1


@pytest.mark.parametrize("line, message", [
    (b"a.png \xb2\n", "expected 'relative/path.jpg label'"),        # a superscript 2 in Latin-1
    ("a.png ²\n".encode(), "expected 'relative/path.jpg label'"),   # isdigit() would accept it
    (b"a.png 99999999999999999999\n", "expected 'relative/path.jpg label'"),
    (b"missing.png 0\n", "missing.png does not exist"),
])
def test_bad_list_lines_name_the_file_and_line(tmp_path, line, message):
    write_png(tmp_path / "a.png")
    (tmp_path / "list.txt").write_bytes(line)
    with pytest.raises(UserError, match=message) as info:
        file_list(str(tmp_path), str(tmp_path / "list.txt"))
    assert "list.txt, line 1" in str(info.value)


def test_a_missing_label_map_is_named(tmp_path):
    write_png(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text("a.png 0\n")
    with pytest.raises(UserError, match="Label map not found: .*labels.txt"):
        file_list(str(tmp_path), str(tmp_path / "list.txt"), str(tmp_path / "labels.txt"))


# --- data archives ---------------------------------------------------------------------------

def cifar_archive(tmp_path, batches: dict) -> Path:
    import io
    import tarfile
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in batches.items():
            data = payload if isinstance(payload, bytes) else pickle.dumps(payload, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_cifar_archive_is_read_without_paddles_unpickler(tmp_path):
    from paddle_suite.data.datasets import cifar10
    rng = np.random.default_rng(0)
    batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}
    path = cifar_archive(tmp_path, {"data_batch_1": batch, "data_batch_2": batch,
                                    "test_batch": batch})
    train, test = cifar10("train", str(path)), cifar10("test", str(path))
    assert len(train) == 8 and len(test) == 4 and train[1][0].shape == (32, 32, 3)
    assert train[0][0][0, 0, 0] == batch[b"data"][0, 0]  # CHW rows -> HWC pixels


def test_a_forged_cifar_archive_runs_no_code(tmp_path):
    from paddle_suite.data.datasets import cifar10
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    path = cifar_archive(tmp_path, {"data_batch_1": pickle.dumps(Payload(), protocol=2)})
    with pytest.raises(UserError, match="refused to load: the file asks to run"):
        cifar10("train", str(path))
    assert not marker.exists()


@pytest.mark.parametrize("header, message", [
    (b"\x00\x00\x08\x03" + struct.pack(">III", 100000, 100000, 1000), "over the 1 GiB limit"),
    (b"\x00\x00\x0d\x01" + struct.pack(">I", 4), "no valid unsigned-byte IDX header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 400), "is truncated"),
])
def test_hostile_idx_files_are_named(tmp_path, header, message):
    import gzip

    from paddle_suite.data.datasets import mnist
    images, labels = tmp_path / "images.gz", tmp_path / "labels.gz"
    images.write_bytes(gzip.compress(header + b"\0" * 16))
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"\0\1"))
    with pytest.raises(UserError, match=message):
        mnist("train", str(images), str(labels))


@pytest.mark.parametrize("ext, make", [
    (".hdr", lambda: cv2.imencode(".hdr", np.ones((64, 48, 3), np.float32))[1].tobytes()),
    (".pfm", lambda: cv2.imencode(".pfm", np.ones((64, 48, 3), np.float32))[1].tobytes())])
def test_a_format_whose_size_cannot_be_read_first_is_refused_whatever_its_name(tmp_path, ext,
                                                                              make):
    """OpenCV decodes Radiance HDR and PFM, whose headers Pillow cannot size: named .png,
    such a file would be decoded at any size. Both are refused before decoding."""
    data = make()
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is not None
    for name in (f"real{ext}", "disguised.png"):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UserError, match="whose size its header states"):
            read_image(tmp_path / name, 3)


def test_a_sample_larger_than_the_network_bound_is_refused_after_its_transforms():
    from paddle_suite.data.imageio import MAX_SAMPLE_PIXELS, check_sample_size
    check_sample_size(np.zeros((3, 4096, 4096), np.float32), "ok")
    check_sample_size(np.zeros((4096, 4096, 1), np.uint8), "ok")  # HWC before ToCHW
    with pytest.raises(UserError, match=f"over the {MAX_SAMPLE_PIXELS:,} the suite runs"):
        check_sample_size(np.zeros((1, 4097, 4096), np.float32), "big.png")
