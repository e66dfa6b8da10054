"""What a graded function must not find: the forbidden implementations, taken out of the sandbox's view.

The kernel sandbox (`isolation.py`) shows the student's process a read-only copy of the Python
environment. Over that copy it mounts, for each forbidden implementation:

* a *stub package* in place of a whole package or module (`cnnkit.reference`, `cnnkit.checks`,
  `scipy.signal`, `torch` outside assignment 06, ...): importing it, or any module under it, works, so an honest notebook that
  imports what it never calls in a graded function runs as before; every name in it is an object
  that raises `RuntimeError` ("... is not available while grading") when it is called or used;
* a *poisoned module* in place of one file (`numpy/_core/numeric.py`, `scipy/linalg/_special_matrices.py`):
  the original source with the forbidden names redefined at its end to raise the same error, and
  the file's cached bytecode hidden (an empty file, which the import system rejects and compiles past),
  so that the original definitions are nowhere in the sandbox to be read back.

The files are made once per grading process in a private folder and bind-mounted read-only;
`plan(rules)` answers [(host file or folder, path in the sandbox)] for the mounts.
"""

import atexit
import importlib.util
import json
import shutil
import tempfile
import threading
from pathlib import Path

MESSAGE = ("{name} is not available while grading: a graded function computes its result itself "
           "(the course's rules name what it may not call)")

STUB = '''"""A stand-in for {name}, which is not available while a notebook is graded."""
import importlib as _importlib
import importlib.abc as _abc
import importlib.machinery as _machinery
import sys as _sys

_MESSAGE = {message!r}


class _Unavailable:
    """Any name of the hidden package: raises as soon as it is used for anything."""

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(_MESSAGE.format(name=object.__getattribute__(self, "_name")))

    __call__ = __iter__ = __len__ = __bool__ = __index__ = __float__ = __int__ = _refuse
    __getitem__ = __setitem__ = __enter__ = __array__ = __mro_entries__ = _refuse
    __add__ = __radd__ = __mul__ = __rmul__ = __matmul__ = __rmatmul__ = __sub__ = __rsub__ = _refuse

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _Unavailable(object.__getattribute__(self, "_name") + "." + attr)

    def __setattr__(self, attr, value):
        self._refuse()

    def __repr__(self):
        return "<" + object.__getattribute__(self, "_name") + ": not available while grading>"


def _module_getattr(module_name):
    def __getattr__(attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        if module_name + "." + attr in _KEEP:     # a real module: `from package import kept` imports it
            return _importlib.import_module(module_name + "." + attr)
        return _Unavailable(module_name + "." + attr)
    return __getattr__


_KEEP = {keep!r}     # modules of the package that are real (inputs of the cases, the probes)


class _Stubs(_abc.MetaPathFinder, _abc.Loader):
    """Every module under the hidden package is a stub too, so `import {name}.x.y` works."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith({name!r} + ".") and fullname not in _KEEP:
            return _machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []
        module.__getattr__ = _module_getattr(module.__name__)


__path__ = {path!r}
__getattr__ = _module_getattr(__name__)
_sys.meta_path.insert(0, _Stubs())
'''

# what a stub keeps of a package besides refusing: the notebooks' first cell binds the visible checks
# (`checks = for_assignment("05")`) and goes on to define what later cells use, so that line must
# work; while graded, a visible check does nothing (the grader's hidden checks decide)
EXTRAS = {"cnnkit.checks": '''

def check(name, fn, *args, **kwargs):
    """While a notebook is graded the visible checks are not run: the grader's own checks decide."""
    return None


class _Checks:
    def __init__(self, assignment):
        self.assignment, self.functions = str(assignment), ()

    def check(self, name, fn, *args, **kwargs):
        return None

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return _Unavailable("cnnkit.checks.for_assignment(...)." + attr)


def for_assignment(assignment):
    return _Checks(assignment)
'''}

POISON = '''

# ---- appended when graded: these names are not available while a notebook is graded
def _unavailable(_name):
    def refuse(*args, **kwargs):
        raise RuntimeError({message!r}.format(name=_name))
    refuse.__name__ = refuse.__qualname__ = _name.rsplit(".", 1)[-1]
    return refuse


{assignments}
del _unavailable
'''

_made = {}      # (kind, module) -> host path, for this process
_lock = threading.RLock()   # a Dask worker grades several jobs at once in threads


def _folder():
    if "folder" not in _made:
        folder = Path(tempfile.mkdtemp(prefix="autograde-hidden-"))
        folder.chmod(0o755)     # the sandbox's unprivileged user reads the stubs through their mounts
        atexit.register(shutil.rmtree, folder, True)
        _made["folder"] = folder
    return _made["folder"]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    path.parent.chmod(0o755)


def _empty():
    """An empty file: in place of a cached bytecode file, the import system rejects it and compiles
    the (poisoned) source instead."""
    path = _folder() / "empty"
    if not path.exists():
        _write(path, "")
    return path


def locate(module):
    """(folder, is_package) or (file, False) of `module` without importing it (its parents may be
    imported), or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]).resolve(), True
    if spec.origin and spec.origin.endswith(".py"):
        return Path(spec.origin).resolve(), False
    return None


def stub_package(name, keep=(), real=None):
    """A folder holding a stub `__init__.py` for the package `name`; the modules `keep` of it stay
    real, found in its folder `real`."""
    key = ("stub", name, tuple(keep))
    if key not in _made:
        folder = _folder() / ("stub-" + name + "".join("+" + k for k in keep))
        kept = sorted(f"{name}.{k}" for k in keep)
        path = [str(real)] if keep else []
        _write(folder / "__init__.py", STUB.format(name=name, message=MESSAGE, keep=kept, path=path)
               + EXTRAS.get(name, ""))
        _made[key] = folder
    return _made[key]


def poisoned_module(module, names, source):
    """A copy of the module file `source` with `names` redefined, at its end, to raise."""
    key = ("poison", module)
    if key not in _made:
        text = Path(source).read_text(encoding="utf-8")
        lines = "\n".join(f"{n} = _unavailable({module.split('._')[0] + '.' + n!r})" for n in names)
        path = _folder() / ("poison-" + module) / Path(source).name
        _write(path, text + POISON.format(message=MESSAGE, assignments=lines))
        _made[key] = path
    return _made[key]


def _stub_keeping(package, folder, keep):
    """A stub in place of the package's `__init__.py` that lets the modules `keep` through, and every
    other module file of the package (and its cached bytecode) emptied, so that none can be read."""
    mounts = [(stub_package(package, keep, folder) / "__init__.py", folder / "__init__.py")]
    kept = {f"{k}.py" for k in keep}
    for path in sorted(folder.rglob("*.py")):
        if path.name != "__init__.py" or path.parent != folder:
            if not (path.parent == folder and path.name in kept):
                mounts.append((_empty(), path))
    for pyc in sorted(folder.rglob("__pycache__/*.pyc")):
        if not (pyc.parent.parent == folder and pyc.name.split(".")[0] + ".py" in kept):
            mounts.append((_empty(), pyc))
    return mounts


def cached_bytecode(source):
    """The cached bytecode files of a module file (to be hidden with it)."""
    source = Path(source)
    cache = source.parent / "__pycache__"
    return sorted(cache.glob(f"{source.stem}.*.pyc")) if cache.is_dir() else []


def plan(rules):
    """[(host path, sandbox path)] that hide what `rules` names: {"stub": [package, ...],
    "poison": {module: [name, ...]}}. Packages and modules that are not installed need nothing."""
    key = ("plan", json.dumps(rules, sort_keys=True))
    with _lock:
        # the same for every job of an assignment: worked out (find_spec, folder walks) once per process
        if key not in _made:
            _made[key] = _plan(rules)
        return list(_made[key])


def _plan(rules):
    mounts = []
    for package in rules.get("stub", ()):
        found = locate(package)
        if found is None:
            continue
        where, is_package = found
        keep = rules.get("keep", {}).get(package, ())
        if is_package and keep:
            mounts.extend(_stub_keeping(package, where, keep))
        elif is_package:
            mounts.append((stub_package(package), where))
        else:       # a single module file: the stub in its place, its cached bytecode hidden
            mounts.append((stub_package(package) / "__init__.py", where))
            mounts.extend((_empty(), pyc) for pyc in cached_bytecode(where))
    for module, names in rules.get("poison", {}).items():
        found = locate(module)
        if found is None or found[1]:
            continue
        source = found[0]
        mounts.append((poisoned_module(module, names, source), source))
        mounts.extend((_empty(), pyc) for pyc in cached_bytecode(source))
    return mounts
