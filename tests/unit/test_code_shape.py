"""The code stays small and plain: no function of the package or a tool over 50 lines."""
import ast

from ..conftest import ROOT

LIMIT = 50


def test_no_function_is_longer_than_the_limit():
    long = []
    for path in sorted([*(ROOT / "paddle_suite").rglob("*.py"), *(ROOT / "tools").glob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LIMIT:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, long
