"""The package's import graph (imports inside functions included) checked against its layers:
python bench/imports.py   -> prints each cycle and each import from a lower layer to a higher
                             one; exit status 1 when there is one.

LAYERS lists the subpackages from the bottom up. A module may import from its own layer and
the layers below it, never from one above: data does not load configs, the config layer does
not run training, the engine does not import the tuning tools.
"""
import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "paddle_suite"
LAYERS = [  # bottom first; a name is a subpackage or a top-level module of paddle_suite
    ("errors", "core"),          # user errors; safe YAML, signature checks, random states
    ("runs",),                   # run directories, locks, checkpoint files, the store
    ("visual",),                 # plots, VisualDL writing, report pages, saliency
    ("models",),                 # networks by name, init, fine-tuning loads
    ("cluster",),                # processes, devices, scheduler signals
    ("data",),                   # data sets, listings, transforms, loaders, data checks
    ("training", "callbacks"),   # optim, losses, metrics, AMP, diagnosis; the callbacks
    ("config",),                 # YAML + overrides -> validated config; ConfigError
    ("lifecycle",),              # engine, continuing, seeds, re-evaluation, launch
    ("tuning", "deploy", "interpret"),
    ("cli", ""),                 # "" is the package's __init__
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str, modules: set) -> set:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found |= {c for c in [target] + [f"{target}.{a.name}" for a in node.names]
                      if c in modules}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
    return found - {name}


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]; counter[0] += 1
                    stack.append(child); on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop(); on_stack.discard(member); component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def layer_of(module: str) -> int:
    """The index in LAYERS of `paddle_suite.<name>...`; a module in no layer is an error."""
    head = module.split(".")[1] if "." in module else ""
    for index, names in enumerate(LAYERS):
        if head in names:
            return index
    raise SystemExit(f"{module}: in no layer of bench/imports.py LAYERS; add it to one")


def upward(graph: dict) -> list:
    """Imports from a lower layer to a higher one, as "a -> b"."""
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if layer_of(b) > layer_of(a))


def main() -> int:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: imports(path, name, set(files)) for name, path in files.items()}
    found, up = cycles(graph), upward(graph)
    for component in found:
        print(" <-> ".join(component))
    for edge in up:
        print("upward:", edge)
    print(f"{len(found)} import cycle(s), {len(up)} upward import(s) among {len(files)} "
          f"modules in {len(LAYERS)} layers")
    return 1 if found or up else 0


if __name__ == "__main__":
    sys.exit(main())
