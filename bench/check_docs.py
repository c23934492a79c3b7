"""Every figure the docs quote comes from BENCHMARKS.md, and every file they name exists.

    python bench/check_docs.py          # exit 1 and one line per problem

A *figure* is a number with a unit of measurement (`98.82%`, `48 s`, `1.17x`, `5 min`,
`1.5 GB`) in README.md, docs/*.md or a config's comments. Its number must appear in
BENCHMARKS.md (which holds each measured table with its machine, commit and command), so a
figure cannot drift in one file and not the other. Numbers that are settings rather than
measurements (`10x lower`, `within 3x`) are listed in SETTINGS with what they are.
A *file reference* is a path to a tool, benchmark, config or doc (`tools/train.py`,
`configs/lenet.yaml`, `docs/deploy.md`); it must exist.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURE = re.compile(r"(?<![\w.\-/=])(\d+(?:[.,]\d+)*)(?:-(\d+(?:\.\d+)?))?"
                    r"(?: ?(%|s|seconds|min|minutes|ms|MB|GB|KB|MiB|GiB)|(x))(?![\w/])")
REFERENCE = re.compile(r"(?<![\w/.-])((?:tools|bench|configs|docs)/[\w./-]+\.(?:py|yaml|md|sh))")

# Numbers with a unit that are settings, rules or definitions, not measurements.
SETTINGS = {
    "100%": "the overfit check's target",
    "10x": "LR factors the overfit check and the advice try",
    "100x": "LR factors the overfit check tries",
    "1000x": "LR factors the overfit check tries",
    "4x": "the LR range test stops at 4x its best loss",
    "80%": "the descent rule's fraction",
    "3x": "the accuracy the LR finder is held to",
    "30 s": "how long the browser test waits for a plot",
    "300 s": "a timeout",
    "60 s": "a timeout",
    "1 s": "a heartbeat",
    "10 s": "a heartbeat",
    "15%": "the held-out share of the training set a search scores on",
    "85%": "the InterpretDL test's threshold",
    "747.7 GiB": "quoted from an error message",
    "95%": "the confidence level of tools/compare.py's intervals",
}


def doc_files(root: Path) -> list[Path]:
    """README.md, docs/*.md and the configs (whose comments quote figures)."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md")),
            *sorted((root / "configs").rglob("*.yaml"))]


def prose(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines a person reads: a config's comments only."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".yaml":
        return [(i, line.split("#", 1)[1]) for i, line in enumerate(lines, 1) if "#" in line]
    return list(enumerate(lines, 1))


def numbers_in(text: str) -> set[str]:
    """Every number written in `text`, as written (`98.82`, `4,975`)."""
    return set(re.findall(r"\d+(?:[.,]\d+)*", text))


def figure_problems(root: Path) -> list[str]:
    """Figures quoted outside BENCHMARKS.md whose numbers BENCHMARKS.md does not hold."""
    measured = numbers_in((root / "BENCHMARKS.md").read_text(encoding="utf-8"))
    problems = []
    for path in doc_files(root):
        for number, line in prose(path):
            for match in FIGURE.finditer(line):
                token = match.group(0).strip()
                if token.replace(" ", " ") in SETTINGS or token in SETTINGS:
                    continue
                values = [v for v in match.group(1, 2) if v]
                missing = [v for v in values if v not in measured]
                if missing:
                    problems.append(f"{path.relative_to(root)}:{number}: figure {token!r} "
                                    "is not in BENCHMARKS.md")
    return problems


def reference_problems(root: Path) -> list[str]:
    """Paths to tools, benchmarks, configs and docs that do not exist."""
    problems = []
    for path in [root / "README.md", root / "BENCHMARKS.md", *sorted((root / "docs").glob("*.md"))]:
        for number, line in prose(path):
            for ref in REFERENCE.findall(line):
                if not (root / ref).exists() and not (path.parent / ref).exists():
                    problems.append(f"{path.relative_to(root)}:{number}: {ref} does not exist")
    return problems


def readme_commands(root: Path) -> list[str]:
    """The README's shell commands, in order: every line of its ```bash blocks, with the
    backslash continuations joined."""
    commands, block, pending = [], False, ""
    for line in (root / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            block = line.strip() == "```bash"
            continue
        if block and line.strip():
            pending += line.rstrip("\\").strip() + " "
            if not line.rstrip().endswith("\\"):
                commands.append(pending.strip())
                pending = ""
    return commands


def placeholder_problems(root: Path) -> list[str]:
    """README commands that cannot be pasted: a `<placeholder>` left to fill in."""
    return [f"README.md: the command {c[:60]!r}... has a <placeholder>"
            for c in readme_commands(root) if re.search(r"<[\w -]+>", c)]


def layout_problems(root: Path) -> list[str]:
    """Modules of the package that docs/layout.md does not list."""
    layout = (root / "docs" / "layout.md").read_text(encoding="utf-8")
    return [f"docs/layout.md: {p.relative_to(root)} is not listed"
            for p in sorted((root / "paddle_suite").rglob("*.py"))
            if f"`{p.relative_to(root).as_posix()}`" not in layout]


def main(root: Path = ROOT) -> int:
    problems = (figure_problems(root) + reference_problems(root) + placeholder_problems(root)
                + layout_problems(root))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in the docs")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
