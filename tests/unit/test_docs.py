"""bench/check_docs.py: the docs quote only figures BENCHMARKS.md holds and name only files
that exist; a number changed in one file and not the other is caught."""
import shutil
import sys

from ..conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import check_docs  # noqa: E402


def copy_docs(tmp_path):
    for name in ("README.md", "BENCHMARKS.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("docs", "configs", "tools", "bench", "examples", "tests"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    return tmp_path


def test_the_docs_have_no_problem():
    assert check_docs.figure_problems(ROOT) == []
    assert check_docs.reference_problems(ROOT) == []
    assert check_docs.placeholder_problems(ROOT) == []
    assert check_docs.layout_problems(ROOT) == []


def test_a_drifted_figure_a_missing_tool_and_a_placeholder_are_caught(tmp_path):
    root = copy_docs(tmp_path)
    readme = (root / "README.md").read_text()
    assert "98.82%" in readme
    (root / "README.md").write_text(
        readme.replace("98.82%", "98.87%", 1)
        + "\n```bash\npython tools/no_such_tool.py --run logs/<run-id>\n```\n")
    figures = check_docs.figure_problems(root)
    assert len(figures) == 1 and "'98.87%' is not in BENCHMARKS.md" in figures[0]
    assert any("tools/no_such_tool.py does not exist" in p
               for p in check_docs.reference_problems(root))
    assert check_docs.placeholder_problems(root)
    assert check_docs.main(root) == 1


def test_a_figure_in_a_config_comment_is_checked_too(tmp_path):
    root = copy_docs(tmp_path)
    (root / "configs").unlink()
    (root / "configs").mkdir()
    (root / "configs" / "x.yaml").write_text("# trains in 12.34 s\nGlobal: {epochs: 3}\n")
    assert ["configs/x.yaml:1: figure '12.34 s' is not in BENCHMARKS.md"] == \
        check_docs.figure_problems(root)
