"""Listing image folders: a compact path table, the same order as a sorted walk, and a
cache that is used while the tree is unchanged and dropped when a file comes or goes."""
import os

import numpy as np
import pytest

from paddle_suite.data import listing
from paddle_suite.data.datasets import IMAGE_EXTENSIONS
from paddle_suite.data.files import image_folder
from paddle_suite.data.listing import PathTable, list_image_folder


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    listing._MEMO.clear()


def tree(root, layout):
    for rel in layout:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return root


def test_a_path_table_gives_back_every_path_including_undecodable_names():
    odd = os.fsdecode(b"/data/odd-\xe9\xff.png")  # a Latin-1 name on a UTF-8 system
    paths = ["/a/b.png", "", odd, "/ü/中.jpg"]
    table = PathTable(paths)
    assert list(table) == paths and len(table) == 4
    assert table.blob.dtype == np.uint8 and table.offsets[-1] == table.blob.size


def test_classes_sorted_and_files_in_path_order_nested_included(tmp_path):
    root = tree(tmp_path / "d", ["b/2.png", "b/10.png", "a/z/1.PNG", "a/y.jpg", "a/notes.txt",
                                 "c/deep/er/x.bmp"])
    classes, paths, labels = list_image_folder(root, IMAGE_EXTENSIONS)
    assert classes == ["a", "b", "c"]
    assert [os.path.relpath(p, root) for p in paths] == ["a/y.jpg", "a/z/1.PNG", "b/10.png",
                                                         "b/2.png", "c/deep/er/x.bmp"]
    assert labels.tolist() == [0, 0, 1, 1, 2]


def test_the_cache_is_used_while_unchanged_and_dropped_when_a_file_is_added(tmp_path):
    root = tree(tmp_path / "d", ["a/1.png", "b/1.png"])
    first = list_image_folder(root, IMAGE_EXTENSIONS)
    assert list(tmp_path.joinpath("cache", "paddle_suite", "listings").glob("*.npz"))
    listing._MEMO.clear()  # a new process: the listing comes from the disk cache
    again = list_image_folder(root, IMAGE_EXTENSIONS)
    assert list(again[1]) == list(first[1]) and again[0] == first[0]
    (root / "b" / "2.png").write_bytes(b"x")
    os.utime(root / "b", ns=(1, 2))  # whatever the clock's resolution, the folder changed
    third = list_image_folder(root, IMAGE_EXTENSIONS)
    assert len(third[1]) == 3 and third[2].tolist() == [0, 1, 1]


def test_an_unwritable_cache_only_means_listing_again(tmp_path, monkeypatch):
    (tmp_path / "ro").write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ro"))
    root = tree(tmp_path / "d", ["a/1.png"])
    data = image_folder(str(root))
    assert len(data) == 1 and data.source(0).endswith("1.png")
