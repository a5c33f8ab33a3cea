"""The house stays drawn (docs/ARCHITECTURE.md): imports point down the layers, never up and
never in a circle (deferred imports count; ``if TYPE_CHECKING:`` blocks do not), the core
never loads the notebook face or IPython, the sandbox never imports the client, and no
module grows past the size where it hides a second one."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "hh_notebook"

#: Lowest first. A module may import modules of its own layer or of lower ones.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "catalog", "_version"),
    ("present", "runtime"),
    ("media", "journal_store", "journal", "stitch_probe", "stitch_audio", "stitch_video", "stitch"),
    ("metrics", "metrics_decode", "metrics_video", "metrics_audio", "metrics_parallel",
     "metrics_columns"),
    ("request_text", "request_checks", "request"),
    ("pricing", "providers", "config"),
    ("jobs",),
    ("client",),
    ("report", "ranking_html", "report_metrics"),
    ("sweep",),
    ("metrics_journal",
     "arena_rank", "arena_model", "arena_select", "arena_items", "arena_session",
     "storyboard_plan", "storyboard_text", "storyboard_state", "storyboard_run",
     "storyboard_result", "storyboard"),
    ("views",),
    ("options", "widgets"),
    ("magics", "cli", "demo"),
    ("__init__",),
]
#: The core: it knows nothing of notebooks.
CORE = ("errors", "catalog", "_version", "present", "runtime", "media", "journal_store",
        "journal",
        "stitch_probe", "stitch_audio", "stitch_video", "stitch",
        "request_text", "request_checks", "request", "pricing", "providers", "config", "jobs",
        "client",
        "report", "ranking_html", "report_metrics", "sweep", "metrics", "metrics_decode", "metrics_video",
        "metrics_audio", "metrics_parallel", "metrics_columns", "metrics_journal",
        "arena_rank", "arena_model", "arena_select",
        "arena_items", "arena_session", "storyboard", "storyboard_plan", "storyboard_text",
        "storyboard_state", "storyboard_run", "storyboard_result")
NOTEBOOK_FACE = ("hh_notebook.views", "hh_notebook.widgets", "hh_notebook.magics",
                 "hh_notebook.options", "IPython", "ipywidgets", "anywidget")
MAX_LINES = 500


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: pathlib.Path, name: str, known: set[str]) -> set[str]:
    """Every hh_notebook module (or outside top-level package) ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def _layer_of(module: str) -> int | None:
    if module == "hh_notebook":
        return len(LAYERS) - 1
    short = module.removeprefix("hh_notebook.").split(".")[0]
    for index, layer in enumerate(LAYERS):
        if short in layer:
            return index
    return None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles_counting_deferred_imports() -> None:
    assert _cycles(_graph()) == []


def test_every_module_has_a_layer() -> None:
    missing = [m for m in _graph() if not m.startswith("hh_notebook.sandbox")
               and _layer_of(m) is None]
    assert missing == []


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, targets in _graph().items():
        if module.startswith("hh_notebook.sandbox"):
            continue
        own = _layer_of(module)
        for target in targets:
            if not target.startswith("hh_notebook") or target.startswith("hh_notebook.sandbox"):
                continue
            if module.startswith(target + "."):
                continue  # a submodule and its own package
            layer = _layer_of(target)
            if layer is not None and own is not None and layer > own:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_the_core_imports_nothing_of_the_notebook_face() -> None:
    graph = _graph()
    offending = []
    for module, targets in graph.items():
        short = module.removeprefix("hh_notebook.").split(".")[0]
        if short not in CORE:
            continue
        for target in targets:
            if target.startswith(NOTEBOOK_FACE):
                offending.append(f"{module} -> {target}")
    assert offending == []


@pytest.mark.parametrize("module", ["hh_notebook", "hh_notebook.sweep", "hh_notebook.client",
                                    "hh_notebook.report", "hh_notebook.jobs",
                                    "hh_notebook.arena_session", "hh_notebook.storyboard"])
def test_importing_the_core_loads_no_notebook_machinery(module: str) -> None:
    code = (f"import sys, {module}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('IPython', 'ipywidgets', 'anywidget') or m.startswith(('hh_notebook.widgets', "
            "'hh_notebook.views', 'hh_notebook.magics'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_the_sandbox_never_imports_the_client() -> None:
    offending = []
    for module, targets in _graph().items():
        if not module.startswith("hh_notebook.sandbox"):
            continue
        for target in targets:
            if target.startswith("hh_notebook") and not target.startswith("hh_notebook.sandbox"):
                offending.append(f"{module} -> {target}")
    assert offending == []


def test_no_python_file_is_over_the_size_limit() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
