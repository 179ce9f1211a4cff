"""Security invariants checked over the source's syntax trees (not its lines).

An AST check sees through aliases (``import pickle as p``; ``from pickle import loads``),
keyword arguments spread over lines and comments. The behavioural side — a model directory
that asks for remote code is refused — is in test_model_security.py.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

SOURCES = sorted(
    p for root in ("src", "plugins") for p in (REPO / root).rglob("*.py") if ".venv" not in p.parts
)

#: Modules whose loading deserialises arbitrary objects (runs code).
UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve"}
#: ``module.function`` calls allowed to import a computed name, and why.
DYNAMIC_IMPORT_ALLOWED = {
    # Base classes of the component kinds: constant "module:Class" strings in KINDS.
    ("src/mtl_pipeline/registry.py", "_import_base"),
}


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.offences: list[str] = []
        self.aliases: dict[str, str] = {}  # local name -> module it stands for
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []

    def _offend(self, node: ast.AST, what: str) -> None:
        self.offences.append(f"{self.path}:{node.lineno}: {what}")

    # imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            self.aliases[alias.asname or root] = alias.name if alias.asname else root
            if root in UNPICKLING_MODULES:
                self._offend(node, f"imports {alias.name} (deserialisation runs code)")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in UNPICKLING_MODULES:
            self._offend(node, f"imports from {module} (deserialisation runs code)")
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            if alias.name in {"read_pickle", "load_pickle"}:
                self._offend(node, f"imports {alias.name}")
        self.generic_visit(node)

    # functions ----------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _qualified(self, func: ast.expr) -> str:
        parts = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name):
            parts.append(self.aliases.get(func.id, func.id))
        else:
            parts.append("?")  # a call or subscript result: ``model.to(...).eval()``
        return ".".join(reversed(parts))

    def _keyword(self, node: ast.Call, name: str) -> ast.expr | None:
        return next((k.value for k in node.keywords if k.arg == name), None)

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualified(node.func)
        last = name.rsplit(".", 1)[-1]
        if name in {"eval", "exec", "compile", "__import__"}:
            self._offend(node, f"calls {name}()")
        if name == "torch.load":
            value = self._keyword(node, "weights_only")
            if not (isinstance(value, ast.Constant) and value.value is True):
                self._offend(node, "torch.load without weights_only=True")
        if name in {"numpy.load", "np.load"}:
            value = self._keyword(node, "allow_pickle")
            if value is not None and not (isinstance(value, ast.Constant) and value.value is False):
                self._offend(node, "numpy.load with allow_pickle")
        if last in {"read_pickle", "load_pickle", "to_pickle"}:
            self._offend(node, f"calls {last}()")
        if name in {"os.system", "os.popen"}:
            self._offend(node, f"calls {name}() (a shell)")
        if name.startswith("subprocess."):
            shell = self._keyword(node, "shell")
            if shell is not None and not (isinstance(shell, ast.Constant) and not shell.value):
                self._offend(node, f"{name} with shell=")
        if name in {"importlib.import_module", "import_module"} and not isinstance(
            node.args[0] if node.args else None, ast.Constant
        ):
            where = self.functions[-1].name if self.functions else "<module>"
            if (self.path, where) not in DYNAMIC_IMPORT_ALLOWED:
                self._offend(node, f"imports a computed module name in {where}()")
        trust = self._keyword(node, "trust_remote_code")
        if trust is not None and not self._trust_from_caller(trust):
            self._offend(
                node,
                f"trust_remote_code={ast.unparse(trust)} (must be False, the caller's "
                "parameter, or the validated config's attribute)",
            )
        self.generic_visit(node)

    def _trust_from_caller(self, value: ast.expr) -> bool:
        """Allowed: literal False; a parameter of the enclosing function (the caller
        decides) with no default or a False default; ``<config>.trust_remote_code``.
        Never a local value, such as one read from a model file."""
        if isinstance(value, ast.Constant):
            return value.value is False
        if isinstance(value, ast.Attribute):
            return value.attr == "trust_remote_code" and isinstance(
                value.value, ast.Name | ast.Attribute
            )
        if isinstance(value, ast.Name) and self.functions:
            args = self.functions[-1].args
            params = [*args.posonlyargs, *args.args]
            defaults = dict(zip([a.arg for a in params[::-1]], args.defaults[::-1], strict=False))
            defaults.update(
                {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
            )
            if value.id not in {a.arg for a in [*params, *args.kwonlyargs]}:
                return False
            default = defaults.get(value.id)
            return default is None or (isinstance(default, ast.Constant) and default.value is False)
        return False


def check_source(text: str, path: str = "<test>") -> list[str]:
    checker = _Checker(path)
    checker.visit(ast.parse(text))
    return checker.offences


def test_no_unsafe_loading_or_code_execution_in_sources():
    offences = []
    for path in SOURCES:
        relative = str(path.relative_to(REPO))
        offences += check_source(path.read_text(encoding="utf-8"), relative)
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize(
    "code",
    [
        "import pickle as p\np.loads(b'')",
        "from pickle import loads\nloads(b'')",
        "import dill",
        "import joblib\njoblib.load('x')",
        "import numpy as n\nn.load('x', allow_pickle=True)",
        "import numpy as np\nflag = True\nnp.load('x', allow_pickle=flag)",
        "import pandas as pd\npd.read_pickle('x')",
        "from pandas import read_pickle",
        "import torch\ntorch.load('x')",
        "import torch as t\nt.load('x', weights_only=False)",
        "eval('1')",
        "exec('x = 1')",
        "import subprocess\nsubprocess.run('ls', shell=True)",
        "import os\nos.system('ls')",
        "import importlib\nname = 'x'\nimportlib.import_module(name)",
        "from transformers import AutoModel\nAutoModel.from_pretrained('x', trust_remote_code=True)",
        # the loophole that let a model file switch remote code on:
        "def load(doc):\n    trust = doc['model'].get('trust_remote_code')\n"
        "    AutoModel.from_pretrained('x', trust_remote_code=trust)",
        "def load(doc):\n    AutoModel.from_pretrained('x', trust_remote_code=doc.get('t'))",
        "def load(path, trust_remote_code=True):\n"
        "    AutoModel.from_pretrained(path, trust_remote_code=trust_remote_code)",
    ],
)
def test_checker_catches(code):
    assert check_source(code), code


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ntorch.load('x', weights_only=True)",
        "import numpy as np\nnp.load('x.npy')",
        "def load(path, *, trust_remote_code=False):\n"
        "    AutoModel.from_pretrained(path, trust_remote_code=trust_remote_code)",
        "def load(cfg):\n    AutoModel.from_pretrained('x', trust_remote_code=cfg.trust_remote_code)",
        "AutoModel.from_pretrained('x', trust_remote_code=False)",
        "import importlib\nimportlib.import_module('json')",
    ],
)
def test_checker_allows(code):
    assert not check_source(code), code


def test_trust_remote_code_is_off_by_default():
    import inspect

    from mtl_pipeline.config import ModelConfig
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    assert ModelConfig().trust_remote_code is False
    load = inspect.signature(MultiTaskModel.load).parameters["trust_remote_code"]
    assert load.default is False and load.kind is inspect.Parameter.KEYWORD_ONLY


def test_every_source_file_parses():
    assert SOURCES and all(isinstance(ast.parse(p.read_text()), ast.Module) for p in SOURCES)
