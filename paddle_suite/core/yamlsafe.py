"""Read YAML text with limits that hold whatever the input.

`yaml.safe_load` runs no code, but it still accepts inputs that hurt: duplicate keys (the
last one silently wins), aliases that expand to billions of nodes ("billion laughs"),
recursive aliases, nesting deep enough to exhaust the stack, and text in encodings the user
did not mean. `load_yaml` refuses each with a `YamlError` naming the line (both lines for a
duplicate key), and bounds the work: the node graph is measured, counting every alias
expansion, before anything is constructed from it.

Limits: `MAX_BYTES` of text, `MAX_NODES` nodes after alias expansion, `MAX_DEPTH` levels of
nesting. A config or an override never comes near them.
"""
from __future__ import annotations

import codecs

import yaml

MAX_BYTES = 1 << 20        # 1 MiB of YAML text
MAX_NODES = 100_000        # nodes after expanding every alias
MAX_DEPTH = 64             # levels of nesting


class YamlError(ValueError):
    """The text is not YAML we accept; the message says why and where."""


class YamlLimitError(YamlError):
    """Valid YAML that breaks a rule or a limit: duplicate keys, an alias bomb, a recursive
    alias, too deep, too long."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise YamlLimitError(f"duplicate key {key_node.value!r} at line {line} (first "
                                    f"at line {seen[key_node.value]}); YAML keeps only the "
                                    "last one, so remove one of them")
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


def _children(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _where(node) -> str:
    return f"line {node.start_mark.line + 1}"


def check_graph(root) -> int:
    """Raise YamlError for a recursive alias, more than MAX_NODES nodes once aliases are
    expanded, or more than MAX_DEPTH levels; return the expanded node count. Iterative and
    memoised: the work is proportional to the text, not to its expansion."""
    memo: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = [memo[id(k)] for k in _children(node)]
            size = 1 + sum(s for s, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            active.discard(key)
            if size > MAX_NODES:
                raise YamlLimitError(f"the document expands to more than {MAX_NODES:,} values "
                                f"(aliases counted at every use; from {_where(node)}); a config "
                                "is never that large (an alias bomb)")
            if depth > MAX_DEPTH:
                raise YamlLimitError(f"nesting deeper than {MAX_DEPTH} levels (at {_where(node)})")
            memo[key] = (size, depth)
            continue
        if key in memo:
            continue
        active.add(key)
        stack.append((node, True))
        for kid in _children(node):
            if id(kid) in active:
                raise YamlLimitError(f"a recursive alias at {_where(kid)} contains itself")
            if id(kid) not in memo:
                stack.append((kid, False))
    return memo[id(root)][0]


def decode(data: bytes) -> str:
    """UTF-8 (BOM allowed) or UTF-16/32 with a BOM; anything else is a YamlError."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            break
    else:
        codec = "utf-8"
        if b"\x00" in data:
            raise YamlError("the file contains NUL bytes: a binary file, or UTF-16/32 text "
                            "without a byte-order mark; save it as UTF-8")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlError(f"not {codec.upper()} text: byte 0x{data[exc.start]:02x} at line {line} "
                        "cannot be decoded (a binary file, or text saved as Latin-1 or another "
                        "code page); save it as UTF-8") from None
    if "\x00" in text:
        raise YamlError("the text contains NUL characters: a binary file, not YAML")
    return text


def compose(text: str):
    """Parse `text` into a checked node graph (None for an empty document)."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            check_graph(node)
        return node, loader
    except RecursionError:
        loader.dispose()
        raise YamlLimitError(f"nesting too deep to parse (more than {MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        loader.dispose()
        raise YamlError(_describe(exc)) from None


def construct(node, loader):
    """Build Python data from a node graph `compose` returned and checked."""
    try:
        return None if node is None else loader.construct_document(node)
    except YamlError:
        raise
    except yaml.YAMLError as exc:
        raise YamlError(_describe(exc)) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2023-13-45
        raise YamlError(f"a value cannot be read: {exc}") from None
    finally:
        loader.dispose()


def load_yaml(text: str):
    """`yaml.safe_load` with duplicate keys, alias bombs, recursion and deep nesting refused."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"{len(text):,} characters of YAML; the limit is {MAX_BYTES:,}")
    node, loader = compose(text)
    return construct(node, loader)


def _describe(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"YAML syntax error{where}: {problem}"
