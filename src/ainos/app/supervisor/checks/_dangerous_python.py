"""Dangerous calls in a Python module, read from its syntax tree.

Names are resolved through the module's imports (``from subprocess import run as r`` makes
``r(...)`` a ``subprocess.run`` call), so a look-alike of another module (``ast.literal_eval``,
``re.compile``, a method ``.load`` of an object) is not mistaken for one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ainos.app.supervisor._records import Severity

__all__ = ["MAY_HIT", "PythonHit", "python_hits"]

# A module without any of these words has none of the calls (each call's name, an import of
# it, or its keyword argument shows one): such a module need not be parsed at all.
MAY_HIT = re.compile(
    r"(?<![.\w])(?:eval|exec|compile)\s*\(|builtins|__import__|shell|system|popen|getoutput"
    r"|pickle|dill|marshal|yaml|mktemp|hashlib|verify\s*=\s*False|_create_unverified_context"
)

_SUBPROCESS = frozenset(
    {"run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput"}
)
_HTTP_MODULES = frozenset({"requests", "httpx"})
_SAFE_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
_WEAK_HASHES = frozenset({"md5", "sha1"})
# qualified name -> (severity, what is wrong with it), whatever the arguments.
_ALWAYS: dict[str, tuple[Severity, str]] = {
    "os.system": ("high", "runs a command through the shell"),
    "os.popen": ("high", "runs a command through the shell"),
    "subprocess.getoutput": ("high", "runs a command through the shell"),
    "subprocess.getstatusoutput": ("high", "runs a command through the shell"),
    "asyncio.create_subprocess_shell": ("high", "runs a command through the shell"),
    "pickle.load": ("medium", "unpickling can run arbitrary code"),
    "pickle.loads": ("medium", "unpickling can run arbitrary code"),
    "cPickle.load": ("medium", "unpickling can run arbitrary code"),
    "cPickle.loads": ("medium", "unpickling can run arbitrary code"),
    "dill.load": ("medium", "unpickling can run arbitrary code"),
    "dill.loads": ("medium", "unpickling can run arbitrary code"),
    "marshal.load": ("medium", "unmarshalling untrusted data is unsafe"),
    "marshal.loads": ("medium", "unmarshalling untrusted data is unsafe"),
    "yaml.unsafe_load": ("medium", "constructs arbitrary Python objects"),
    "yaml.full_load": ("medium", "constructs arbitrary Python objects"),
    "tempfile.mktemp": ("medium", "races: another process can create the file first"),
    "ssl._create_unverified_context": ("medium", "turns off TLS certificate checks"),
}
# builtin -> severity when its first argument is not a literal
_DYNAMIC_CODE: dict[str, Severity] = {"eval": "high", "exec": "high", "compile": "medium"}


@dataclass(frozen=True)
class PythonHit:
    line: int
    severity: Severity
    message: str


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> the qualified name it stands for, from every import of the module."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _qualified(node: ast.expr, imports: dict[str, str]) -> str | None:
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    resolved = imports.get(head)
    if resolved is None:
        return dotted
    return f"{resolved}.{rest}" if rest else resolved


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_truthy(node: ast.expr | None) -> bool:
    if node is None:
        return False
    return not isinstance(node, ast.Constant) or bool(node.value)


@dataclass(frozen=True)
class _Call:
    node: ast.Call
    name: str  # qualified through the imports: subprocess.run
    shown: str  # as written: sp.run
    module: str  # the name's module part: subprocess
    function: str  # its last part: run

    def keyword(self, name: str) -> ast.expr | None:
        return next((kw.value for kw in self.node.keywords if kw.arg == name), None)

    def hit(self, severity: Severity, message: str) -> PythonHit:
        return PythonHit(self.node.lineno, severity, message)


@dataclass(frozen=True)
class _Module:
    imports_http: bool  # requests or httpx imported: a method's verify=False is theirs
    safe_loaders: frozenset[str]  # the module's own classes derived from a safe YAML loader


def _safe_loaders(tree: ast.Module) -> frozenset[str]:
    safe: set[str] = set()
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    for _ in range(len(classes)):  # a loader may derive from one derived from SafeLoader
        for node in classes:
            bases = (_dotted(base) or "" for base in node.bases)
            if any(base.endswith(_SAFE_LOADERS) or base in safe for base in bases):
                safe.add(node.name)
    return frozenset(safe)


def _dynamic_code(call: _Call, _: _Module) -> PythonHit | None:
    args = call.node.args
    if call.name not in _DYNAMIC_CODE or not args or _is_literal(args[0]):
        return None
    return call.hit(_DYNAMIC_CODE[call.name], f"{call.shown}() of a non-literal argument")


def _dynamic_import(call: _Call, _: _Module) -> PythonHit | None:
    args = call.node.args
    if call.name != "__import__" or not args or _is_literal(args[0]):
        return None
    return call.hit("medium", "__import__() of a non-literal module name")


def _always(call: _Call, _: _Module) -> PythonHit | None:
    if call.name not in _ALWAYS:
        return None
    severity, why = _ALWAYS[call.name]
    return call.hit(severity, f"{call.name}(): {why}")


def _shell(call: _Call, _: _Module) -> PythonHit | None:
    if call.module != "subprocess" or call.function not in _SUBPROCESS:
        return None
    shell = call.keyword("shell")
    if shell is None or not _is_truthy(shell):
        return None
    given = "True" if isinstance(shell, ast.Constant) else ast.unparse(shell)[:40]
    return call.hit("high", f"{call.name}(shell={given}): runs a command through the shell")


def _yaml_load(call: _Call, module: _Module) -> PythonHit | None:
    if call.name != "yaml.load":
        return None
    loader = call.keyword("Loader")
    if loader is None and len(call.node.args) > 1:
        loader = call.node.args[1]
    name = _dotted(loader) if loader is not None else None
    if name is not None and (name.endswith(_SAFE_LOADERS) or name in module.safe_loaders):
        return None
    return call.hit("medium", "yaml.load() without a safe Loader")


def _weak_hash(call: _Call, _: _Module) -> PythonHit | None:
    if call.module != "hashlib" or _is_false(call.keyword("usedforsecurity")):
        return None
    args = call.node.args
    named = (
        call.function == "new"
        and bool(args)
        and isinstance(args[0], ast.Constant)
        and str(args[0].value).lower() in _WEAK_HASHES
    )
    if call.function not in _WEAK_HASHES and not named:
        return None
    return call.hit("low", f"{call.name}(): a weak hash (fine only for non-security use)")


def _unverified(call: _Call, module: _Module) -> PythonHit | None:
    http = call.name.split(".")[0] in _HTTP_MODULES or (module.imports_http and "." in call.shown)
    if not http or not _is_false(call.keyword("verify")):
        return None
    return call.hit("medium", f"{call.shown}(verify=False): turns off TLS certificate checks")


_RULES = (_dynamic_code, _dynamic_import, _always, _shell, _yaml_load, _weak_hash, _unverified)


def python_hits(tree: ast.Module) -> Iterator[PythonHit]:
    """The dangerous calls of one module, in the order of the tree."""
    imports = _imports(tree)
    module = _Module(
        imports_http=any(value.split(".")[0] in _HTTP_MODULES for value in imports.values()),
        safe_loaders=_safe_loaders(tree),
    )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        shown = _dotted(node.func)
        name = _qualified(node.func, imports)
        if name is None or shown is None:
            continue
        name = name.removeprefix("builtins.")
        owner, _, function = name.rpartition(".")
        call = _Call(node, name, shown, owner, function)
        hit = next((found for rule in _RULES if (found := rule(call, module))), None)
        if hit is not None:
            yield hit
