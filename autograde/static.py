"""What a submission's code uses, read from its source without running it.

Two questions, both answered in the grader's own process from the cells' text:

* `forbidden_uses(cells, graded, forbidden)`: does each graded function (or a helper of the
  student's that it uses) refer to an implementation the course forbids, e.g. `numpy.convolve`,
  `scipy.signal`, `cnnkit`? Names are resolved through the notebook's imports and simple aliases
  (`import numpy as np`, `from scipy import signal`, `conv = np.convolve`), so `np.convolve`,
  `signal.correlate2d` and `conv` all count. Code that builds names at run time (`eval`, `exec`,
  `__import__`, `importlib`, `getattr` with a computed name) cannot be checked and counts too.
* `tampering(cells)`: does the student's code reach for the machinery a grade could be faked with:
  the interpreter's internals (`sys`, `gc`, frames, code objects, `builtins`), processes, threads,
  files, signals, IPython's hooks, or assigning into an imported module (`np.allclose = ...`)?
  Course exercises never need these; a submission that uses them is graded without credit and
  listed for a person to look at.

Cells that could not be parsed are skipped by both (IPython magics are translated first).
"""

import ast
import fnmatch
from dataclasses import dataclass

DYNAMIC_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint"}
# modules with no use in a course exercise but many in faking a grade
TAMPER_MODULES = {"gc", "ctypes", "signal", "threading", "_thread", "multiprocessing", "concurrent",
                  "subprocess", "socket", "importlib", "builtins", "inspect", "atexit", "weakref", "pickle",
                  "marshal", "code", "codeop", "faulthandler", "resource", "mmap", "dis", "pty", "fcntl",
                  "posix", "runpy", "zipimport", "pkgutil", "IPython", "autograde", "nbgrader",
                  "jupyter_client", "ipykernel", "dill", "cloudpickle", "sqlite3", "shelve", "_io", "io.open_code"}
# from modules an exercise may use (os.path, sys.float_info, ...): the parts that reach the process itself
TAMPER_NAMES = ["os.write*", "os.pwrite*", "os.dup*", "os.fdopen", "os.open", "os.close*", "os.read*", "os.pipe*",
                "os._exit", "os.kill*", "os.fork*", "os.system", "os.popen", "os.exec*", "os.spawn*",
                "os.posix_spawn*", "os.set*", "os.putenv", "os.unsetenv", "os.abort", "os.sendfile",
                "sys.modules", "sys.argv", "sys.orig_argv", "sys.set*", "sys._getframe", "sys._current_frames",
                "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache", "sys.addaudithook", "sys.audit",
                "sys.stdin", "sys.__std*", "sys.excepthook", "sys.displayhook", "sys.breakpointhook",
                "sys.exc_info", "sys.exception", "sys.last_*", "sys.call_tracing", "sys.getprofile",
                "sys.gettrace", "sys.monitoring", "sys._*", "io.open", "io.FileIO", "pathlib.Path.write*",
                "pathlib.Path.open", "shutil.*", "tempfile.*"]
TAMPER_CALLS = DYNAMIC_CALLS | {"open", "setattr", "delattr", "get_ipython"}
TAMPER_ATTRS = {"__code__", "__globals__", "__builtins__", "__closure__", "__subclasses__", "__bases__",
                "__mro__", "__getattribute__", "__self__", "__func__", "__wrapped__", "__traceback__",
                "__loader__", "__spec__", "__reduce__", "__reduce_ex__", "__setattr__", "__delattr__",
                "__defaults__", "__kwdefaults__", "__import__", "f_back", "f_globals", "f_locals", "f_builtins",
                "f_code", "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame", "co_code", "func_globals"}
TAMPER_METHODS = {"__del__", "__init_subclass__", "__set_name__", "__class_getitem__"}
# numpy's file readers and writers: a graded function has no files to read
IO_FUNCTIONS = {"numpy.load", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.loadtxt",
                "numpy.savetxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.memmap", "numpy.lib.format",
                "numpy.ndarray.tofile"}
MAGICS_ALLOWED = {"matplotlib", "time", "timeit", "precision", "pprint", "capture"}


@dataclass(frozen=True)
class Finding:
    cell: str       # the cell's id
    line: int       # the line in that cell
    what: str       # a sentence saying what was found


# ----------------------------------------------------------------------------- parsing

def translate(source):
    """A cell's source as plain Python (IPython's magics become calls), or None if it cannot be."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def parse(cells):
    """[(cell_id, ast.Module)] for the cells that parse."""
    out = []
    for cell_id, source in cells:
        try:
            out.append((cell_id, ast.parse(translate(source))))
        except (SyntaxError, ValueError):
            continue
    return out


class Names:
    """The notebook's imports and module-level aliases: a local name -> the dotted name it stands for."""

    def __init__(self, trees):
        self.alias = {}
        for _, tree in trees:
            for node in ast.walk(tree):
                self.add_import(node)
        # module-level simple aliases, e.g. `conv = np.convolve` (two passes catch alias chains)
        for _ in range(2):
            for _, tree in trees:
                for node in tree.body:
                    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                            and isinstance(node.targets[0], ast.Name):
                        q = self.qualify(node.value)
                        if q and "." in q:
                            self.alias[node.targets[0].id] = q

    def add_import(self, node):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.alias[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.alias[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    self.alias[a.asname or a.name] = f"{node.module}.{a.name}"

    def qualify(self, node):
        """The dotted name an expression stands for (`np.convolve` -> numpy.convolve), else None."""
        if isinstance(node, ast.Name):
            return self.alias.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            base = self.qualify(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None


def _matches(dotted, prefixes):
    return next((p for p in prefixes if dotted == p or dotted.startswith(p + ".")), None)


# ----------------------------------------------------------------------------- forbidden implementations

def definitions(trees):
    """Top-level functions and classes the cells define: name -> [(cell_id, node)] in order."""
    found = {}
    for cell_id, tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, []).append((cell_id, node))
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        found.setdefault(t.id, []).append((cell_id, node))
    return found


def forbidden_uses(cells, graded, forbidden):
    """{name: findings} for each graded function: forbidden implementations it (or its helpers) refers to.

    `cells`: [(cell_id, source)] in notebook order, parsed once for all of `graded`; `forbidden`:
    dotted prefixes ("numpy.convolve", "scipy.signal", "cnnkit").
    """
    trees = parse(cells)
    names, defs = Names(trees), definitions(trees)
    return {name: _uses(name, names, defs, forbidden) for name in graded}


def _uses(name, names, defs, forbidden):
    """The findings for one graded function, following the helpers it names."""
    findings, seen, todo, used = [], set(), [name], {}
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        cell_id, node = defs[current][-1]   # the last definition is the one that counts
        own = _local_names(node)
        for sub in ast.walk(node):
            if _is_local(sub, own):
                # a variable of the function's own (`s = sigmoid(z)`) is not the notebook's `s`; what it
                # was bound to is an expression inside the function, which this walk checks anyway
                continue
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in sub.names] if isinstance(sub, ast.Import) else \
                    [f"{sub.module}.{a.name}" for a in sub.names] + [sub.module or ""]
                for m in mods:
                    hit = _matches(m, forbidden)
                    if hit:
                        findings.append(Finding(cell_id, sub.lineno, f"{current} imports {m} ({hit} is not allowed)"))
                        break
            elif isinstance(sub, (ast.Attribute, ast.Name)):
                q = names.qualify(sub)
                hit = q and _matches(q, forbidden)
                # ast.walk meets `signal.correlate2d` before the `signal` inside it: report the longer
                if hit and not any(u.startswith(q) for u in used.get((cell_id, sub.lineno), ())):
                    used.setdefault((cell_id, sub.lineno), []).append(q)
                    findings.append(Finding(cell_id, sub.lineno, f"{current} uses {q}"))
                elif q and _matches(q, IO_FUNCTIONS):
                    findings.append(Finding(cell_id, sub.lineno, f"{current} reads or writes files ({q})"))
                if isinstance(sub, ast.Name) and sub.id in defs and sub.id != current:
                    todo.append(sub.id)
            elif isinstance(sub, ast.Call):
                f = sub.func
                if isinstance(f, ast.Name) and f.id in DYNAMIC_CALLS:
                    findings.append(Finding(cell_id, sub.lineno,
                                            f"{current} calls {f.id}(), so what it runs cannot be checked"))
                elif isinstance(f, ast.Name) and f.id == "getattr" and len(sub.args) >= 2 \
                        and not isinstance(sub.args[1], ast.Constant):
                    findings.append(Finding(cell_id, sub.lineno,
                                            f"{current} looks up an attribute by a computed name (getattr), "
                                            f"so what it runs cannot be checked"))
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "." in sub.value:
                hit = _matches(sub.value, forbidden)
                if hit:
                    findings.append(Finding(cell_id, sub.lineno, f"{current} names {sub.value!r}"))
    return _unique(findings)


def _local_names(node):
    """The names a function binds itself: its arguments and what it assigns, less `global` ones.

    Names bound by an `import` inside it are left out: they stand for what they import.
    """
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return frozenset()
    a = node.args
    bound = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if x is not None}
    declared = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            bound.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and sub is not node:
            bound.add(sub.name)
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
    return frozenset(bound - declared)


def _is_local(sub, own):
    """Whether `sub` binds a name (a binding is no use) or reads a local variable: a name, or an
    attribute chain on one (`s.max`)."""
    if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
        return True
    while isinstance(sub, ast.Attribute):
        sub = sub.value
    return isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in own


# ----------------------------------------------------------------------------- tampering

def tampering(cells):
    """Findings for code that reaches for the grader's machinery. `cells`: [(cell_id, source)]."""
    findings = []
    for cell_id, source in cells:
        for line in source.splitlines():
            stripped = line.strip()
            if stripped.startswith("!"):
                findings.append(Finding(cell_id, 0, f"runs a shell command ({stripped[:40]!r})"))
            elif stripped.startswith("%"):
                words = stripped.lstrip("%").split()
                magic = words[0] if words else ""
                if magic not in MAGICS_ALLOWED:
                    findings.append(Finding(cell_id, 0, f"uses the magic {stripped[:2].rstrip()}{magic}"))
    trees = parse([(cell_id, _without_magics(source)) for cell_id, source in cells])
    names = Names(trees)
    modules = {a for a, q in names.alias.items() if _is_module_path(q)}
    for cell_id, tree in trees:
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                for m in mods:
                    if _matches(m, TAMPER_MODULES) or _tamper_name(m):
                        findings.append(Finding(cell_id, line, f"imports {m}"))
                        break
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TAMPER_CALLS:
                if node.func.id in ("setattr", "delattr") and node.args and \
                        not (isinstance(node.args[0], ast.Name) and node.args[0].id in modules) and \
                        len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and \
                        isinstance(node.args[1].value, str) and not node.args[1].value.startswith("__"):
                    continue   # setattr(self, "w", ...) on an object of its own
                findings.append(Finding(cell_id, line, f"calls {node.func.id}()"))
            elif isinstance(node, ast.Attribute) and node.attr in TAMPER_ATTRS:
                findings.append(Finding(cell_id, line, f"uses .{node.attr}"))
            elif isinstance(node, ast.Attribute) and _tamper_name(names.qualify(node) or ""):
                findings.append(Finding(cell_id, line, f"uses {names.qualify(node)}"))
            elif isinstance(node, ast.Name) and _tamper_name(names.alias.get(node.id, "")):
                findings.append(Finding(cell_id, line, f"uses {names.alias[node.id]}"))
            elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
                findings.append(Finding(cell_id, line, f"uses {node.id}"))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in TAMPER_METHODS:
                findings.append(Finding(cell_id, line, f"defines {node.name}"))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Attribute):
                            base = sub.value
                            while isinstance(base, ast.Attribute):
                                base = base.value
                            if isinstance(base, ast.Name) and base.id in modules:
                                findings.append(Finding(cell_id, line,
                                                        f"changes the module {names.alias[base.id]} "
                                                        f"(assigns {ast.unparse(sub)})"))
    return _unique(findings)


def _tamper_name(dotted):
    return bool(dotted) and any(fnmatch.fnmatchcase(dotted, pattern) for pattern in TAMPER_NAMES)


def _is_module_path(dotted):
    """Whether an imported name is a module (not a function taken out of one), as far as we can tell."""
    import importlib.util
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def _without_magics(source):
    """The source with its %magic lines blanked (they were judged line by line already)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _unique(findings):
    seen, out = set(), []
    for f in findings:
        if (f.cell, f.what) not in seen:
            seen.add((f.cell, f.what))
            out.append(f)
    return out

