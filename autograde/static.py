"""What a submission's code uses, read from its source without running it.

Two questions, both answered in the grader's own process from the cells' text:

* `forbidden_uses(cells, graded, forbidden)`: does each graded function (or a helper of the
  student's that it uses) refer to an implementation the course forbids, e.g. `numpy.convolve`,
  `scipy.signal`, `cnnkit`? Names are resolved through the notebook's imports and aliases, scope by
  scope (`import numpy as np`, `from scipy import signal`, `conv = np.convolve`, `m = [np][0]`, a
  helper that returns a module, a comprehension's own `np`), so `np.convolve`, `signal.correlate2d`,
  `conv` and `m.convolve` all count. Every binding of a name counts, not only the last (`if True:
  def convolve1d ...`, `from numpy import convolve as convolve1d`, a loop's target, a star import),
  and so does what the notebook puts into the objects a graded function reads (`table["f"] =
  np.convolve`, `operator.setitem(table, ...)`, a mutable default filled by a call, a library that
  keeps what it is given, `np.seterrcall`). Code that builds names at run time (`eval`, `exec`,
  `__import__`, `importlib`, `getattr` with a computed name, `__dict__`, `operator.attrgetter`,
  IPython's output history `_` and `Out`, a module handed around as a value, ...) cannot be checked
  and counts too.
* `tampering(cells)`: does the student's code reach for the machinery a grade could be faked with:
  the interpreter's internals (`sys`, `gc`, frames, code objects, `builtins`), processes, threads,
  files (and the writers that could plant `scipy.py` or an extension module to be imported in
  place of one), signals, IPython's hooks and magics, computed look-ups, modules that are neither
  standard nor installed (a file the notebook wrote), or assigning into an imported module
  (`np.allclose = ...`)? Course exercises never need these; a submission that uses them is graded
  without credit and listed for a person to look at.

Cells are read the way IPython runs them: its input transformations turn `%magic`, `%%magic`, `!cmd`
and `name?` into calls, a single-line cell may be an automagic (`timeit f(x)`, `run x.py`), and the
code that `%time`, `%timeit`, `%%time`, `%%timeit` and `%%capture` carry is read and checked like the
rest of the cell, in place (a `%%time` cell's function is a definition like any other). Any other
magic is a tampering finding, and so is a magic whose code cannot be read. A cell that does not parse
is one IPython cannot run either (it defines nothing); a cell this check cannot read for a reason of
its own process (nesting too deep for its stack, `barry_as_FLUFL` changing the grammar) is a finding
for every graded function and for tampering, since IPython might run it: what the check cannot read,
it does not credit.

Rules per assignment: `forbidden` is the assignment's own list (`grader.FORBIDDEN`). `COURSE_MODULES`
are always added; `LIBRARY_CONVOLUTIONS` (NumPy's private homes of convolve and correlate, SciPy's
convolution matrices, PyTorch's operators, cv2, skimage, TensorFlow, JAX, ...) and the
`LIBRARY_NAMES` rule (a library attribute named like a convolution or pooling, wherever it is
reached from, and a tensor's `.unfold`) are added unless the assignment allows library layers:
`library=None` decides from the list, which for 06 (`["cnnkit"]`, training with PyTorch's layers)
names nothing but the course's own modules.

What is not followed: values a library keeps that were not handed to it by name (a library object's
state filled through a computation); the runtime profiler of the sandbox sees those calls.

Every parse (ast, IPython's transformer) of this module holds `_LOCK`: CPython 3.11's ast module can
fail when two threads parse at once (`SystemError: AST constructor recursion depth mismatch`), and a
Dask worker grades submissions in several threads.
"""

import ast
import builtins
import fnmatch
import functools
import os
import re
import sys
import threading
from dataclasses import dataclass

_LOCK = threading.RLock()

DYNAMIC_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint"}
# modules with no use in a course exercise but many in faking a grade
TAMPER_MODULES = {"gc", "ctypes", "_ctypes", "signal", "threading", "_thread", "multiprocessing", "concurrent",
                  "subprocess", "socket", "importlib", "imp", "builtins", "inspect", "atexit", "weakref", "pickle",
                  "marshal", "code", "codeop", "faulthandler", "resource", "mmap", "dis", "pty", "fcntl",
                  "posix", "runpy", "zipimport", "pkgutil", "pydoc", "pdb", "bdb", "cProfile", "profile", "trace",
                  "tracemalloc", "asyncio", "doctest", "unittest", "mock", "__main__", "linecache", "IPython",
                  "autograde", "solutions", "tests", "bench", "nbgrader", "jupyter_client", "ipykernel", "dill",
                  "cloudpickle", "sqlite3", "shelve", "dbm", "_io", "io.open_code", "zipfile", "tarfile", "cffi",
                  "Cython", "pyximport", "numpy.f2py", "numpy.ctypeslib", "torch.utils.cpp_extension", "torch.hub",
                  "torch.library"}
# from modules an exercise may use (os.path, sys.float_info, ...): the parts that reach the process
# itself, and the library calls that look a name up from a string
TAMPER_NAMES = ["os.write*", "os.pwrite*", "os.dup*", "os.fdopen", "os.open", "os.close*", "os.read*", "os.pipe*",
                "os._exit", "os.kill*", "os.fork*", "os.system", "os.popen", "os.exec*", "os.spawn*",
                "os.posix_spawn*", "os.set*", "os.putenv", "os.unsetenv", "os.abort", "os.sendfile",
                "sys.modules", "sys.argv", "sys.orig_argv", "sys.set*", "sys._getframe", "sys._current_frames",
                "sys.meta_path", "sys.path_hooks", "sys.path_importer_cache", "sys.addaudithook", "sys.audit",
                "sys.stdin", "sys.__std*", "sys.excepthook", "sys.displayhook", "sys.breakpointhook",
                "sys.exc_info", "sys.exception", "sys.last_*", "sys.call_tracing", "sys.getprofile",
                "sys.gettrace", "sys.monitoring", "sys._*", "io.open", "io.FileIO", "pathlib.Path.write*",
                "pathlib.Path.open", "shutil.*", "tempfile.*", "operator.attrgetter", "operator.methodcaller",
                "typing.get_type_hints", "typing.ForwardRef", "string.Formatter", "logging.config*",
                "types.CodeType", "types.FunctionType", "os.rename", "os.replace", "os.link", "os.symlink",
                "os.mkdir", "os.makedirs", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.truncate",
                "os.chmod", "os.chown", "os.chdir", "os.fchdir", "os.mkfifo", "os.mknod", "os.utime",
                "pathlib.Path.rename", "pathlib.Path.replace", "pathlib.Path.symlink_to", "pathlib.Path.hardlink_to",
                "pathlib.Path.mkdir", "pathlib.Path.touch", "pathlib.Path.unlink", "pathlib.Path.rmdir",
                "pathlib.Path.chmod", "logging.FileHandler", "logging.handlers*", "logging.basicConfig"]
# writers whose bytes the notebook chooses: a file named like a module (scipy.py, x.so) would be
# imported in its place; a constant name with one of SAFE_SUFFIXES cannot be
WRITERS = ["numpy.savetxt", "numpy.memmap", "numpy.lib.format.open_memmap", "torch.save"]
WRITER_METHODS = {"tofile", "dump", "write_bytes", "write_text"}   # ndarray.tofile, pathlib.Path.write_text
SAFE_SUFFIXES = (".npy", ".npz", ".txt", ".csv", ".dat", ".bin", ".pt", ".pkl", ".json", ".png", ".pdf", ".svg")
TAMPER_CALLS = DYNAMIC_CALLS | {"open", "setattr", "delattr", "get_ipython"}
TAMPER_ATTRS = {"__code__", "__globals__", "__builtins__", "__closure__", "__subclasses__", "__bases__", "__base__",
                "__mro__", "__getattribute__", "__getattr__", "__dict__", "__self__", "__func__", "__wrapped__",
                "__traceback__", "__loader__", "__spec__", "__reduce__", "__reduce_ex__", "__setattr__",
                "__delattr__", "__defaults__", "__kwdefaults__", "__import__", "__objclass__", "f_back", "f_globals",
                "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame",
                "co_code", "func_globals", "ctypes"}
TAMPER_METHODS = {"__del__", "__init_subclass__", "__set_name__", "__class_getitem__"}
# numpy's file readers and writers: a graded function has no files to read
IO_FUNCTIONS = {"numpy.load", "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.loadtxt",
                "numpy.savetxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.memmap", "numpy.lib.format",
                "numpy.ndarray.tofile"}
# look-ups by a string: what they find cannot be read from the source
COMPUTED_LOOKUPS = ["importlib", "builtins", "sys.modules", "operator.attrgetter", "operator.methodcaller",
                    "pydoc", "pkgutil", "inspect", "typing.get_type_hints", "typing.ForwardRef", "string.Formatter",
                    "runpy", "code", "codeop", "IPython", "__main__"]

# builtins that keep nothing they are given and change none of it
PURE_BUILTINS = {"print", "len", "repr", "str", "int", "float", "bool", "complex", "isinstance", "issubclass", "type",
                 "id", "hash", "callable", "abs", "round", "min", "max", "sum", "sorted", "range", "enumerate", "zip",
                 "format", "list", "tuple", "set", "frozenset", "dict", "any", "all", "divmod", "pow", "ord", "chr"}
# library calls that keep nothing they are given (what they return is followed where it is bound)
PURE_CALLS = ["functools.partial", "functools.wraps", "functools.update_wrapper", "functools.reduce", "itertools",
              "numpy.vectorize", "numpy.frompyfunc", "numpy.allclose", "numpy.array_equal", "numpy.testing",
              "numpy.isclose", "timeit", "matplotlib", "cnnkit.checks", "cnnkit.plot"]
# the course's own modules and the grader's: off limits in every assignment
COURSE_MODULES = ["cnnkit", "autograde", "solutions"]
# library convolutions, poolings and convolution matrices beyond an assignment's own list: every
# assignment but the one that allows library layers (06) forbids them inside graded functions
LIBRARY_CONVOLUTIONS = [
    # NumPy: the public functions, their private homes and the masked-array copies
    "numpy.convolve", "numpy.correlate", "numpy.polymul", "numpy.polynomial", "numpy.poly1d", "numpy.core",
    "numpy._core", "numpy.ma.convolve", "numpy.ma.correlate", "numpy.lib.polynomial", "numpy.lib._polynomial_impl",
    # SciPy: filters and convolution (Toeplitz, circulant, Hankel) matrices
    "scipy.signal", "scipy.ndimage", "scipy.linalg.toeplitz", "scipy.linalg.circulant", "scipy.linalg.hankel",
    "scipy.linalg.convolution_matrix", "scipy.linalg.matmul_toeplitz", "scipy.linalg._special_matrices",
    "scipy.linalg.special_matrices", "scipy.fftpack.convolve",
    # PyTorch: the operators under the public functions and layers
    "torch._C", "torch.ops", "torch._ops", "torch._refs", "torch._prims", "torch._decomp", "torch._VF",
    "torch.nn.grad", "torch.nn.modules.conv", "torch.nn.modules.pooling", "torch.nn.modules.fold",
    "torch.convolution", "torch._convolution", "torch.cudnn_convolution", "torch.mkldnn_convolution",
    "torch.conv_tbc", "torch.Tensor.unfold", "torch.ao", "torch.quantization", "torch.nn.quantized",
    "torch.nn.intrinsic", "torch.nn.qat", "torch.nn.functional.interpolate", "torch.nn.Upsample",
    # other libraries that convolve or pool
    "cv2", "skimage", "astropy.convolution", "tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax",
    "torchvision", "torchaudio", "kornia", "cupy", "cupyx", "pywt", "statsmodels.tsa.filters", "mxnet",
    "theano", "pytensor", "paddle",
]
# a library attribute with one of these names (any part of a dotted name after the module, e.g.
# `matplotlib.pylab.convolve`, `torch.nn.functional.torch.conv2d`) is a convolution or pooling too
LIBRARY_NAMES = re.compile(r"(?i).*convol.*|.*correlat.*|conv(_?transpose)?[123]?d?|conv_tbc|.*pool.*|toeplitz.*"
                           r"|circulant|hankel|unfold|fold|im2col|col2im|filter2d|.*_filter[123]?d?|block_reduce"
                           r"|view_as_windows")
# modules that other modules carry as attributes (`os.sys`, `warnings.sys`, `np.ctypeslib.ctypes`)
REEXPORTED = {"sys", "os", "builtins", "gc", "ctypes", "_ctypes", "importlib", "subprocess", "threading",
              "_thread", "multiprocessing", "pickle", "marshal", "weakref", "inspect", "atexit", "faulthandler",
              "shutil", "tempfile", "IPython", "autograde", "nbgrader", "__main__"}
# usual short names inside libraries: `scipy.signal._signaltools.np.convolve` is numpy.convolve
SHORT = {"np": "numpy", "F": "torch.nn.functional", "nn": "torch.nn", "sp": "scipy"}

# the magics a notebook may use: those whose argument is Python code (%time, %timeit, %%time,
# %%timeit, %%capture), read and checked like the cell's other code, and those with no code
CODE_MAGICS = {"time", "timeit", "capture"}
QUIET_MAGICS = {"matplotlib", "precision", "pprint"}
MAGICS_ALLOWED = CODE_MAGICS | QUIET_MAGICS
# magics whose code is checked, but that replace the grader's profiler or tracer while they run
TRACING_MAGICS = {"prun", "debug"}
MAX_MAGIC_DEPTH = 8
# magics that cannot do harm with an argument that reads as Python (`history[-1]`, `config(x)`): a
# single-line cell starting with one of them is taken for Python when an earlier cell binds the name
SHADOWED_MAGICS = {"history", "hist", "time", "timeit", "who", "whos", "who_ls", "pwd", "dirs", "dhist", "page",
                   "colors", "xmode", "magic", "lsmagic", "quickref", "pdef", "pdoc", "psource", "pfile", "pinfo",
                   "pinfo2", "psearch", "precision", "pprint", "matplotlib", "config", "load"}
# names IPython keeps its output history in: what a cell displayed can come back through them
HISTORY = re.compile(r"_+|_\d+|_i+|_i\d+|_ih|_oh|_dh|In|Out|_exit_code")
BUILTINS = frozenset(dir(builtins)) | {"display", "exit", "quit", "__name__", "__doc__", "__debug__"}
HARMLESS_ATTRS = {"__name__", "__qualname__", "__doc__", "__module__"}


@dataclass(frozen=True)
class Finding:
    cell: str       # the cell's id
    line: int       # the line in that cell
    what: str       # a sentence saying what was found


# ----------------------------------------------------------------------------- reading cells as IPython runs them

@functools.lru_cache(maxsize=1)
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


def translate(source):
    """A cell's source as plain Python (IPython's magics become calls), or None if IPython cannot
    translate it (then it does not run the cell either)."""
    return _translate(source)[0]


def _translate(source):
    """(text, None), or (None, why): 'syntax' where IPython refuses the cell too, else the error that
    may depend on this process (its stack, its memory), where IPython might not."""
    manager = _transformer()   # an ImportError here is the grader's fault: let it show
    with _LOCK:
        try:
            return manager.transform_cell(source), None
        except (RecursionError, MemoryError, SystemError) as e:
            return None, type(e).__name__
        except Exception:  # noqa: BLE001 - whatever the transformer raises, IPython refuses the cell
            return None, "syntax"


@functools.lru_cache(maxsize=1)
def _line_magics():
    """The line magics a plain IPython shell has: a single-line cell starting with one is run as it."""
    from IPython.core import magics
    from IPython.core.alias import default_aliases
    names = {"ed", "hist", "rep", "matplotlib", "pip", "conda", "mamba", "micromamba", "uv", "autoreload",
             "aimport", "load_ext", "store", "sql", "tensorboard"}
    for attr in dir(magics):
        table = getattr(getattr(magics, attr), "magics", None)
        if isinstance(table, dict):
            names |= set(table.get("line", {}))
    names |= {name for name, _ in default_aliases()}
    return frozenset(names)


def _automagic(text, bound=frozenset()):
    """The magic call IPython runs for a single-line cell such as `timeit f(x)` or `ls` (automagic),
    else None. IPython does not when a variable of that name exists; whether it does cannot be known
    from the text (the cell that binds it may have failed), so both readings are checked, except for
    the harmless magics (`history`, `config`, ...) when an earlier cell binds the name: a cell that
    shows a variable called `history` is what it looks like."""
    if len(text.splitlines()) != 1 or not text.strip():
        return None
    from IPython.core.splitinput import LineInfo
    info = LineInfo(text.rstrip("\n"))
    if info.esc or not info.ifun or info.ifun not in _line_magics():
        return None
    head = info.ifun.split(".")[0]
    if info.the_rest[:1] in ("=", ",") or head in BUILTINS or info.ifun in _KEYWORDS:
        return None
    if head in bound and info.ifun in SHADOWED_MAGICS:
        return None
    return f"get_ipython().run_line_magic({info.ifun!r}, {info.the_rest!r})\n"


_KEYWORDS = frozenset(__import__("keyword").kwlist)
_MAGIC_METHODS = {"run_line_magic": 2, "run_cell_magic": 3, "system": 1, "getoutput": 1}
_SCOPE_FIELDS = (ast.stmt, ast.excepthandler, ast.match_case)
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")


def _is_magic_call(node):
    """`get_ipython().run_line_magic('time', '...')` and its kin, as IPython's transformer writes them
    (or a student writes them: they run the same)."""
    if not (isinstance(node, ast.Call) and not node.keywords and isinstance(node.func, ast.Attribute)):
        return False
    owner, expected = node.func.value, _MAGIC_METHODS.get(node.func.attr)
    return (expected == len(node.args) and isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == "get_ipython" and not owner.args and not owner.keywords
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args))


def _magic_calls(node, out):
    """The magic calls in a statement's own expressions (not in the statements nested in it)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPE_FIELDS):
            continue
        if _is_magic_call(child):
            out.append(child)
        else:
            _magic_calls(child, out)


def _replace(node, ids):
    """Put None where the calls `ids` were (their code now stands before the statement)."""
    for field, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        for i, v in enumerate(items):
            if not isinstance(v, ast.AST) or isinstance(v, _SCOPE_FIELDS):
                continue
            if id(v) in ids:
                new = ast.copy_location(ast.Constant(None), v)
                if isinstance(value, list):
                    value[i] = new
                else:
                    setattr(node, field, new)
            else:
                _replace(v, ids)


class _Reader:
    """One cell read as IPython runs it, its magics' code in place; `problems`: what it may not do."""

    def __init__(self, cell_id, bound=frozenset()):
        self.cell, self.problems, self.bound = cell_id, [], bound
        self.unreadable = []   # why the code of a magic could not be read, where IPython might run it

    def problem(self, line, what):
        self.problems.append(Finding(self.cell, line, what))

    def read(self, source, offset=0, depth=0):
        """(ast.Module, None), or (None, why): 'syntax' when IPython cannot run it either, else the
        error of this process that IPython's might not have."""
        if depth > MAX_MAGIC_DEPTH:
            return None, "magics nested too deeply"
        text, why = _translate(source)
        if text is None:
            return None, why
        with _LOCK:
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError, OverflowError, TypeError):
                tree = None
            except (RecursionError, MemoryError, SystemError) as e:
                return None, type(e).__name__
            magic = _automagic(text, self.bound)
            if magic:
                tree = tree or ast.Module(body=[], type_ignores=[])
                tree.body.extend(ast.parse(magic).body)
        if tree is None:
            return None, "syntax"
        lines = source.split("\n")
        blank = next((i for i, x in enumerate(lines) if x.strip()), 0)   # IPython drops them
        if offset + blank:
            ast.increment_lineno(tree, offset + blank)
        tree.body = self.expand(tree.body, depth)
        return tree, None

    def expand(self, stmts, depth):
        """The statements with each magic call replaced by the code it runs."""
        out = []
        for st in stmts:
            for field, value in ast.iter_fields(st):
                if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                    setattr(st, field, self.expand(value, depth) or [ast.copy_location(ast.Pass(), st)])
                elif isinstance(value, list) and value and isinstance(value[0], (ast.excepthandler, ast.match_case)):
                    for h in value:
                        h.body = self.expand(h.body, depth) or [ast.copy_location(ast.Pass(), st)]
            calls = []
            _magic_calls(st, calls)
            if not calls:
                out.append(st)
                continue
            before = []
            for call in calls:
                before.extend(self.magic(call, depth))
            if isinstance(st, ast.Expr) and calls == [st.value]:
                out.extend(before)
            else:
                _replace(st, {id(c) for c in calls})
                out.extend(before)
                out.append(st)
        return out

    def magic(self, call, depth):
        kind, args, line = call.func.attr, [a.value for a in call.args], call.lineno
        if kind in ("system", "getoutput"):
            self.problem(line, f"runs a shell command ({('!' + args[0])[:40]!r})")
            return []
        if kind == "run_line_magic":
            return self.line_magic(args[0], args[1], line, depth)
        return self.cell_magic(args[0], args[1], args[2], line, depth)

    def line_magic(self, name, text, line, depth):
        if name.startswith("%"):
            return []   # a cell magic below a cell's first line: IPython refuses it, nothing of it runs
        if name == "time":
            return self.code(text, line - 1, depth, "%time")
        if name == "timeit":
            stmt = self.options(text, "n:r:tcp:qo", line, "%timeit")
            return [] if stmt is None else self.code(stmt, line - 1, depth, "%timeit")
        if name in TRACING_MAGICS:
            self.problem(line, f"uses the magic %{name}, which replaces the grader's profiler while it runs")
            stmt = self.options(text, "D:l:rs:T:q" if name == "prun" else "b:", line, f"%{name}")
            return [] if stmt is None else self.code(stmt, line - 1, depth, f"%{name}")
        if name in QUIET_MAGICS:
            return []
        if name in ("pinfo", "pinfo2") and _DOTTED.fullmatch(text.strip()):
            return []   # `np.pad?`: shows the help of a name
        self.problem(line, f"uses the magic %{name}")
        return []

    def cell_magic(self, name, text, body, line, depth):
        if name in ("time", "capture") or name in TRACING_MAGICS:
            stmts = []
            if name in TRACING_MAGICS:
                self.problem(line, f"uses the magic %%{name}, which replaces the grader's profiler while it runs")
            if name == "capture":
                stmts = self.capture(text, line)
            elif text.strip():
                stmts = self.code(text, line - 1, depth, f"%%{name}")
            return stmts + self.code(body, line, depth, f"%%{name}")
        if name == "timeit":
            setup = self.options(text, "n:r:tcp:qo", line, "%%timeit")
            return ([] if setup is None else self.code(setup, line - 1, depth, "%%timeit")) + \
                self.code(body, line, depth, "%%timeit")
        if name in ("writefile", "file"):
            self.problem(line, f"writes a file with %%{name} {text.strip()[:40]!r}")
            return []
        self.problem(line, f"uses the cell magic %%{name}")
        return []

    def code(self, source, offset, depth, what):
        tree, why = self.read(source, offset, depth + 1)
        if tree is None:
            self.problem(offset + 1, f"the code of {what} cannot be read ({why})")
            if why != "syntax":
                self.unreadable.append(why)
            return []
        return tree.body

    def options(self, text, spec, line, what):
        """What IPython's option parser leaves of a magic's line (its statement), or None."""
        from IPython.core.magic import Magics

        class _Table:
            def __init__(self):
                self.options_table = {}

        try:
            return Magics.parse_options(_Table(), text, spec, posix=False, strict=False, preserve_non_opts=True)[1]
        except Exception as e:  # noqa: BLE001 - UsageError: IPython refuses it too; the check does not guess
            self.problem(line, f"the options of {what} cannot be read ({type(e).__name__})")
            return None

    def capture(self, text, line):
        """`%%capture [--no-stdout ...] [name]`: the name it binds, as an assignment."""
        names = [w for w in text.split() if w not in ("--no-stderr", "--no-stdout", "--no-display")]
        if len(names) > 1 or (names and not names[0].isidentifier()):
            self.problem(line, f"the arguments of %%capture cannot be read ({text.strip()[:40]!r})")
            return []
        if not names:
            return []
        with _LOCK:
            stmts = ast.parse(f"{names[0]} = None").body
        for st in stmts:
            ast.increment_lineno(st, line - 1)
        return stmts


class _Notebook:
    """The cells read: their trees, the problems their magics show, and the cells that cannot be read."""

    def __init__(self, cells):
        self.trees, self.problems, self.unreadable = [], [], []
        bound = set()   # names the cells so far bind in the module: they may shadow an automagic
        for cell_id, source in cells:
            reader = _Reader(cell_id, frozenset(bound))
            try:
                tree, why = reader.read(source if isinstance(source, str) else "")
            except RecursionError:
                tree, why = None, "nested too deeply for the check"
            self.problems.extend(reader.problems)
            self.unreadable.extend((cell_id, why) for why in reader.unreadable)
            if isinstance(source, str) and "barry_as_FLUFL" in source:
                # changes how IPython parses the cells after it; the check would read them otherwise
                self.unreadable.append((cell_id, "it changes Python's grammar (barry_as_FLUFL)"))
            if tree is not None:
                self.trees.append((cell_id, tree))
                bound.update(name for st in _module_statements(tree.body) for name, _, _ in _bindings_of(st))
            elif why != "syntax":
                self.unreadable.append((cell_id, why))


def parse(cells):
    """[(cell_id, ast.Module)] for the cells that parse, with the code of their magics in place."""
    with _LOCK:
        return _Notebook(cells).trees


# ----------------------------------------------------------------------------- names

def _on_self(node):
    """Whether a getattr/setattr/delattr call works on `self` by a computed name: a module's layers made
    in a loop (`setattr(self, f"fc{i}", ...)`, `getattr(self, f"fc{i}")`) reach only that object's own
    attributes, and a computed dunder name cannot be told apart, so only non-constant names count."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name) and node.args[0].id == "self"
            and not isinstance(node.args[1], ast.Constant))


def _methods_calls_on_self(tree):
    """ids of the calls `_on_self` inside methods whose first parameter is `self` (never rebound)."""
    found = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for fn in cls.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            params = fn.args.posonlyargs + fn.args.args
            if not params or params[0].arg != "self" or fn.args.defaults and len(fn.args.defaults) >= len(params):
                continue
            rebound = any(isinstance(n, ast.Name) and n.id == "self" and not isinstance(n.ctx, ast.Load)
                          for n in ast.walk(fn))
            if not rebound:
                found.update(id(n) for n in ast.walk(fn) if _on_self(n))
    return found


def _getattr_const(node):
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))


def _chain(node):
    """(root, [attributes]) of `a.b.c` or `getattr(a, "b").c`; root is the expression under them."""
    attrs = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif _getattr_const(node):
            attrs.append(node.args[1].value)
            node = node.args[0]
        else:
            return node, attrs[::-1]


def _receiver(node):
    """The name an object being changed belongs to: `d["k"].append` -> d, `d.get(k).add` -> d; not
    what a function returns (`f(x).reshape` changes no f), None."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _root_name(node):
    """The name under attributes, subscripts and calls (`d['k'].append` -> d), else None."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


MAX_PARTS, MAX_CANDIDATES = 12, 256
TOO_MANY = "\u2026"   # stands for the candidates left out: a name that may be too many things
GIVES = ".\u00ab"     # `pick` -> numpy.«: calling it gives numpy (a function's return value)


def _bounded(found):
    """Candidates kept finite: at most MAX_PARTS parts each (`x = x.T` in a loop would grow them for
    ever), at most MAX_CANDIDATES (the shortest: they keep the modules a prefix rule needs)."""
    out = {c if c.count(".") < MAX_PARTS else ".".join(c.split(".")[:MAX_PARTS]) for c in found}
    if len(out) <= MAX_CANDIDATES:
        return out
    return set(sorted(out, key=len)[:MAX_CANDIDATES - 1]) | {TOO_MANY}


def _masked(resolve, names):
    return lambda n: () if n in names else resolve(n)


def _params(args):
    return {x.arg for x in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if x is not None}


def _candidates(e, resolve, depth=0):
    return _bounded(_candidates1(e, resolve, depth))


def _candidates1(e, resolve, depth=0):
    """The dotted names an expression's value may be, or contain, as far as names go: `np.convolve`;
    the elements of `[np][0]`; both sides of `a if c else b`; for a call, what it returns, marked
    `.()` (`np.asarray(x)` -> numpy.asarray.()), and its arguments (`pick(np)` may return numpy)."""
    if depth > 60:
        return {TOO_MANY}   # nested past what the check follows: it may be anything
    if isinstance(e, ast.Name):
        return set(resolve(e.id))
    if isinstance(e, ast.Attribute):
        return {f"{c}.{e.attr}" for c in _candidates1(e.value, resolve, depth + 1)}
    if _getattr_const(e):
        return {f"{c}.{e.args[1].value}" for c in _candidates1(e.args[0], resolve, depth + 1)}
    if isinstance(e, (ast.Subscript, ast.Starred, ast.NamedExpr, ast.Await)):
        return _candidates1(e.value, resolve, depth + 1)
    if isinstance(e, ast.Call):
        out = {c[:-len(GIVES)] if c.endswith(GIVES) else f"{c}.()" for c in _candidates1(e.func, resolve, depth + 1)}
        for a in list(e.args) + [k.value for k in e.keywords]:
            out |= _candidates1(a, resolve, depth + 1)
        return out
    if isinstance(e, ast.Lambda):
        return _candidates1(e.body, _masked(resolve, _params(e.args)), depth + 1)
    if isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        inner = _masked(resolve, {n for g in e.generators for n in _target_names(g.target)})
        return _candidates1(e.value if isinstance(e, ast.DictComp) else e.elt, inner, depth + 1)
    out = set()
    if isinstance(e, ast.expr):
        for child in ast.iter_child_nodes(e):
            if isinstance(child, ast.expr):
                out |= _candidates1(child, resolve, depth + 1)
    return out


def _target_names(target):
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            and not _under_attribute(target, n)]


def _under_attribute(target, name):
    """Whether `name` is inside an attribute or subscript of `target` (`d[k] = ...` binds no k)."""
    for node in ast.walk(target):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and any(n is name for n in ast.walk(node)):
            return True
    return False


def _value_names(value):
    """The names whose objects an expression's value may be or hold: `t = table`, `t = [table][0]`,
    `t = table["a"]`, `t = wrap(table)`; not arithmetic (`x / EPS` is a new object), not what a
    builtin that copies makes of them (`list(table)`), not the functions it calls."""
    out, stack = set(), [value] if value is not None else []
    while stack:
        e = stack.pop()
        if isinstance(e, ast.Name):
            out.add(e.id)
        elif isinstance(e, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Constant, ast.JoinedStr, ast.Lambda)):
            continue
        elif isinstance(e, ast.Call):
            if not (isinstance(e.func, ast.Name) and e.func.id in PURE_BUILTINS):
                stack.extend(list(e.args) + [k.value for k in e.keywords])
            if isinstance(e.func, ast.Attribute):   # `table.get("a")`, `table.copy()`: of table
                stack.append(e.func.value)
        elif isinstance(e, ast.expr):
            stack.extend(c for c in ast.iter_child_nodes(e) if isinstance(c, ast.expr))
    return out


def _import_bindings(node):
    """[(bound name, dotted name)] of an import; star imports give ('*', module)."""
    if isinstance(node, ast.Import):
        return [(a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0]) for a in node.names]
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level:
            module = "." * node.level + module
        return [("*", module) if a.name == "*" else (a.asname or a.name, f"{module}.{a.name}" if module else a.name)
                for a in node.names]
    return []


def _bindings_of(st):
    """[(name, value expression or None, parts)] of the bindings one statement makes in its own scope
    (not those of the statements in its body); parts: the nodes that say what the name is."""
    out = []
    if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.append((st.name, None, [st]))
    elif isinstance(st, (ast.Import, ast.ImportFrom)):
        out.extend((name, None, [st]) for name, _ in _import_bindings(st) if name != "*")
    elif isinstance(st, ast.Assign):
        for t in st.targets:
            if isinstance(t, (ast.Tuple, ast.List)) and isinstance(st.value, (ast.Tuple, ast.List)) \
                    and len(t.elts) == len(st.value.elts) and not any(isinstance(x, ast.Starred) for x in t.elts):
                for sub, value in zip(t.elts, st.value.elts):
                    out.extend((n, value, [st]) for n in _target_names(sub))
            else:
                out.extend((n, st.value, [st]) for n in _target_names(t))
    elif isinstance(st, (ast.AnnAssign, ast.AugAssign)):
        out.extend((n, st.value, [st]) for n in _target_names(st.target))
    elif isinstance(st, (ast.For, ast.AsyncFor)):
        out.extend((n, st.iter, [st.target, st.iter]) for n in _target_names(st.target))
    elif isinstance(st, (ast.With, ast.AsyncWith)):
        for item in st.items:
            if item.optional_vars is not None:
                out.extend((n, item.context_expr, [item]) for n in _target_names(item.optional_vars))
    elif isinstance(st, (ast.Try, ast.TryStar)):
        # `except Exception as e`: e holds what the try raised, e.args anything it was given
        out.extend((h.name, None, [st]) for h in st.handlers if h.name)
    elif isinstance(st, ast.Match):
        for case in st.cases:
            for node in ast.walk(case.pattern):
                name = getattr(node, "name", None) or getattr(node, "rest", None)
                if isinstance(name, str):
                    out.append((name, st.subject, [st.subject, case.pattern]))
    return out


def _header(st):
    """The parts of a statement outside its nested bodies (all of a simple statement)."""
    if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = st.args
        return st.decorator_list + [d for d in a.defaults + a.kw_defaults if d is not None] + \
            ([st.returns] if st.returns else [])
    if isinstance(st, ast.ClassDef):
        return st.decorator_list + st.bases + [k.value for k in st.keywords]
    parts = []
    for field, value in ast.iter_fields(st):
        items = value if isinstance(value, list) else [value]
        parts.extend(v for v in items if isinstance(v, ast.AST) and not isinstance(v, _SCOPE_FIELDS))
    return parts


def _blocks(st):
    """The nested statement lists, handlers and cases of a statement (not of functions and classes)."""
    if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    out = []
    for field, value in ast.iter_fields(st):
        if isinstance(value, list) and value and isinstance(value[0], _SCOPE_FIELDS):
            out.append(value)
    return out


def _units(body):
    """Every statement of a module at any depth, as (statement, parts, functions): a simple statement
    is its own part, a compound one's parts are its header (a loop's target and iterable...);
    functions: the functions it is inside, outermost first."""
    stack = [(st, ()) for st in reversed(body)]
    while stack:
        st, funcs = stack.pop()
        compound = isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or _blocks(st)
        yield st, (_header(st) if compound else [st]), funcs
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = funcs if isinstance(st, ast.ClassDef) else funcs + (st,)
            stack.extend((x, inner) for x in reversed(st.body))
            continue
        for block in _blocks(st):
            for item in reversed(block):
                if isinstance(item, ast.stmt):
                    stack.append((item, funcs))
                else:   # a handler or a case: its name, its pattern, its body
                    yield item, [x for x in (getattr(item, "type", None), getattr(item, "pattern", None),
                                             getattr(item, "guard", None)) if x is not None], funcs
                    stack.extend((x, funcs) for x in reversed(item.body))


def _module_statements(body):
    """The statements, handlers and cases that run in the module's scope (not inside functions and classes)."""
    stack = list(reversed(body))
    while stack:
        st = stack.pop()
        yield st
        for block in _blocks(st):
            for item in reversed(block):
                if isinstance(item, ast.stmt):
                    stack.append(item)
                else:
                    yield item
                    stack.extend(reversed(item.body))


def _walrus(parts):
    """Names bound by `:=` in expressions (comprehensions included: they bind in the enclosing scope)."""
    out = []
    for p in parts:
        for node in ast.walk(p):
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                out.append((node.target.id, node.value, [node]))
    return out


def _function_globals(tree):
    """[(name, function)]: names a function (or class body) declares `global` and binds, so binds
    for the module."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            declared = {n for node in ast.walk(fn) if isinstance(node, ast.Global) for n in node.names}
            if declared:
                bound = set()
                for node in ast.walk(fn):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                        bound.add(node.id)
                    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not fn:
                        bound.add(node.name)
                    elif isinstance(node, (ast.Import, ast.ImportFrom)):
                        bound.update(name for name, _ in _import_bindings(node))
                out.extend((n, fn) for n in sorted(declared & bound))
    return out


def _fn_locals(fn):
    """The names a function binds itself (its parameters included): what its returns say of them is
    its own business, not the module's names."""
    bound, declared, _, _ = _own_scope(fn.body)
    return frozenset((bound | _params(fn.args)) - declared)


def _returns(fn):
    """The values a function returns or yields (its own, not those of functions inside it)."""
    out, stack = [], list(fn.body) if not isinstance(fn, ast.Lambda) else [fn.body]
    if isinstance(fn, ast.Lambda):
        return [fn.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
            out.append(node.value)
        stack.extend(ast.iter_child_nodes(node))
    return out


class Names:
    """The notebook's imports and aliases: a name -> the dotted names it may stand for.

    `aliases`: every binding anywhere (for the tampering check: a name anywhere that may be a module);
    `module`: the bindings of the module's own scope (for the graded functions' free names);
    `alias`: one dotted name per name (the first found), as before; `stars`: `from M import *` modules;
    `modules`: names bound by `import M` (certainly modules).
    """

    def __init__(self, trees):
        self.aliases, self.module, self.stars, self.modules = {}, {}, [], set()
        anywhere, at_module = [], []   # (name, value expression) of the value bindings
        for _, tree in trees:
            for node in ast.walk(tree):
                for name, dotted in _import_bindings(node):
                    if name == "*":
                        self.stars.append(dotted)
                    else:
                        self.aliases.setdefault(name, set()).add(dotted)
                        if isinstance(node, ast.Import):
                            self.modules.add(name)
                if isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case)):
                    anywhere.extend((n, v) for n, v, _ in _bindings_of(node) if v is not None)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        anywhere.extend((node.name, r, _fn_locals(node)) for r in _returns(node))
            for st in _module_statements(tree.body):
                for name, dotted in _import_bindings(st):
                    if name != "*":
                        self.module.setdefault(name, set()).add(dotted)
                at_module.extend((n, v) for n, v, _ in _bindings_of(st) + _walrus(_header(st)) if v is not None)
                if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    at_module.extend((st.name, r, _fn_locals(st)) for r in _returns(st))
            for name, fn in _function_globals(tree):
                for node in ast.walk(fn):
                    for bound, dotted in _import_bindings(node):
                        if bound == name:
                            self.module.setdefault(name, set()).add(dotted)
        _settle(self.aliases, anywhere)
        _settle(self.module, at_module)
        self.alias = {name: min(d) for name, d in self.aliases.items() if d}

    def qualify(self, node):
        """The dotted name an expression stands for (`np.convolve` -> numpy.convolve), else None."""
        root, attrs = _chain(node)
        if not isinstance(root, ast.Name) or not self.aliases.get(root.id):
            return None
        return ".".join([min(self.aliases[root.id])] + attrs)

    def qualify_all(self, node):
        """Every dotted name an expression may stand for (any binding of its names)."""
        return _candidates(node, lambda n: self.aliases.get(n, ()))


def _settle(table, bindings, passes=6, resolve=None):
    """Add to `table` what each (name, value) binding may make a name stand for, until nothing changes;
    `resolve`: what the names in the values stand for (default: `table` itself)."""
    resolve = resolve or (lambda n: table.get(n, ()))
    for _ in range(passes):
        changed = False
        for name, value, *mask in bindings:
            found = _candidates(value, _masked(resolve, mask[0]) if mask else resolve)
            if mask:   # a function's return value: what calling the function gives
                found = {c if c == TOO_MANY else c + GIVES for c in found}
            if found - table.get(name, set()):
                table[name] = _bounded(table.get(name, set()) | found)
                changed = True
        if not changed:
            return


def _matches(dotted, prefixes):
    return next((p for p in prefixes if dotted == p or dotted.startswith(p + ".")), None)


class _Rules:
    """Which dotted names a graded function may not use."""

    def __init__(self, prefixes, library):
        self.prefixes, self.library = list(dict.fromkeys(prefixes)), library

    def hit(self, dotted, names=True):
        """The forbidden prefix or name `dotted` falls under, else None; `names`: whether the
        LIBRARY_NAMES rule applies too."""
        found = _matches(dotted, self.prefixes)
        if found:
            return found
        parts = dotted.split(".")
        for i in range(1, len(parts)):   # a module reached through another: `F.torch.conv2d`
            tail = parts[i:]
            for t in (tail, [SHORT[tail[0]]] + tail[1:] if tail[0] in SHORT else None):
                if t and _matches(".".join(t), self.prefixes):
                    return ".".join(t)
        if self.library and names:
            return next((p for p in parts[1:] if LIBRARY_NAMES.fullmatch(p)), None)
        return None


# ----------------------------------------------------------------------------- forbidden implementations

def definitions(trees):
    """Every binding of a name in the module's scope: name -> [(cell_id, parts)] in order (a function,
    a class, an assignment, an import, a loop's target, ...; `global` names bound inside functions too)."""
    found = {}
    for cell_id, tree in trees:
        for st in _module_statements(tree.body):
            for name, _, parts in _bindings_of(st) + _walrus(_header(st)):
                found.setdefault(name, []).append((cell_id, parts))
        for name, fn in _function_globals(tree):
            found.setdefault(name, []).append((cell_id, [fn]))
    return found


def forbidden_uses(cells, graded, forbidden, library=None):
    """{name: findings} for each graded function: forbidden implementations it (or its helpers) refers to.

    `cells`: [(cell_id, source)] in notebook order, parsed once for all of `graded`; `forbidden`:
    dotted prefixes ("numpy.convolve", "scipy.signal", "cnnkit"). `COURSE_MODULES` are always added.
    `library`: whether to add `LIBRARY_CONVOLUTIONS` and the `LIBRARY_NAMES` rule. None (the default)
    decides from `forbidden`: yes when it names anything beyond the course's own modules (every
    assignment but 06, whose list is ["cnnkit"] because it trains with PyTorch's layers).
    """
    if library is None:
        library = any(not _matches(p, COURSE_MODULES) for p in forbidden)
    rules = _Rules(list(forbidden) + COURSE_MODULES + (LIBRARY_CONVOLUTIONS if library else []), library)
    with _LOCK:
        nb = _Notebook(cells)
        try:
            context = _Context(nb.trees)
        except RecursionError:
            context = None
        out = {}
        for name in graded:
            found = []
            try:
                if context is not None:
                    found = _Graded(name, context, rules).run()
            except RecursionError:
                context = None
            if context is None:
                found = [Finding("", 0, f"{name}: the notebook's code is nested too deeply for the check to read")]
            found += [Finding(cell, 0, f"{name} cannot be checked: cell {cell!r} cannot be read ({why}), "
                                       f"and IPython may run it") for cell, why in nb.unreadable]
            out[name] = _unique(found)
        return out


class _Context:
    """What the notebook binds, and where it changes what it bound."""

    def __init__(self, trees):
        self.trees = trees
        self.names = Names(trees)
        self.alias = self.names.module
        self.bindings = definitions(trees)
        self.imported = {n for n, sites in self.bindings.items()
                         if all(len(p) == 1 and isinstance(p[0], (ast.Import, ast.ImportFrom)) for _, p in sites)}
        self.functions = {n for n, sites in self.bindings.items()
                          if all(len(p) == 1 and isinstance(p[0], (ast.FunctionDef, ast.AsyncFunctionDef))
                                 for _, p in sites)}
        self.classes = {n for n, sites in self.bindings.items()
                        if all(len(p) == 1 and isinstance(p[0], ast.ClassDef) for _, p in sites)}
        self.mutations, self.calls, self.handed, self.bound_from = {}, [], {}, {}
        for cell_id, tree in trees:
            for st in _module_statements(tree.body):
                for name, value, _ in _bindings_of(st) + _walrus(_header(st)):
                    for n in _value_names(value):   # `t = table`: changing t changes table
                        self.bound_from.setdefault(n, set()).add(name)
        for cell_id, tree in trees:
            for st, parts, funcs in _units(tree.body):
                for part in parts:
                    for node in ast.walk(part):
                        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                            root = _receiver(node)
                            if root:   # `d["f"] = v`, `f.impl = v`: the whole statement says what
                                self.mutations.setdefault(root, []).append((cell_id, parts, funcs))
                        elif isinstance(node, ast.Call):
                            self.calls.append((cell_id, node, funcs))
                            pure = isinstance(node.func, ast.Name) and node.func.id in PURE_BUILTINS
                            for a in [] if pure else list(node.args) + [k.value for k in node.keywords]:
                                if isinstance(a, ast.Name):   # `operator.setitem(table, "f", v)`
                                    self.handed.setdefault(a.id, []).append((cell_id, [node], funcs))
                            if isinstance(node.func, ast.Attribute):
                                root = _receiver(node.func.value)
                                if root:   # `d.update(f=v)`, `lst.append(v)`: the call says what
                                    self.mutations.setdefault(root, []).append((cell_id, [node], funcs))

    def resolve(self, name):
        return self.alias.get(name, ())


class _Scope:
    """The names a piece of code binds itself, and what they may stand for."""

    def __init__(self, context, local=frozenset(), alias=None, function=False):
        self.context, self.local, self.function = context, local, function
        self.alias = {} if alias is None else alias

    def resolve(self, name):
        if name in self.local:
            return self.alias.get(name, ())
        return self.context.resolve(name)

    def inner(self, bound, declared, bindings, params=(), imports=()):
        """A scope inside this one that binds `bound` (less `declared` global); `bindings`:
        [(name, value)] saying what they stand for, `params`: [(name, default)] (defaults resolved
        here), `imports`: [(name, dotted)]."""
        local = frozenset((self.local - declared) | (bound - declared))
        alias = {n: set(d) for n, d in self.alias.items() if n in local and n not in bound}
        scope = _Scope(self.context, local, alias, function=True)
        for n, dotted in imports:
            if n in local:
                alias.setdefault(n, set()).add(dotted)
        for n, default in params:
            if default is not None and n in local:
                alias.setdefault(n, set()).update(_candidates(default, self.resolve))
        outer = self.resolve
        _settle(alias, [b for b in bindings if b[0] in local], passes=4,
                resolve=lambda n: alias.get(n, ()) if n in local else outer(n))
        return scope


def _own_scope(body, extra=()):
    """(bound, declared global, [(name, value)], [(name, imported)]) of code in one scope, not of functions, classes,
    lambdas or comprehensions inside it (their decorators, defaults, bases and first iterables are)."""
    bound, declared, values, imports = set(), set(), [], []
    stack = list(body) + list(extra)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case)):
            for name, value, _ in _bindings_of(node):
                bound.add(name)
                if value is not None:
                    values.append((name, value))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.extend((name, dotted) for name, dotted in _import_bindings(node) if name != "*")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                values.extend((node.name, r, _fn_locals(node)) for r in _returns(node))
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            (declared if isinstance(node, ast.Global) else bound).update(node.names)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(_header(node))
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            stack.append(node.generators[0].iter)
            for n, v, _ in _walrus([node]):
                bound.add(n)
                values.append((n, v))
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            values.append((node.target.id, node.value))
        stack.extend(ast.iter_child_nodes(node))
    return bound, declared, values, imports


class _Graded:
    """The findings for one graded function: its code, its helpers', what it reads and what changes that."""

    def __init__(self, name, context, rules):
        self.name, self.context, self.rules = name, context, rules
        self.findings, self.todo, self.seen, self.stateful = [], [name], set(), False
        self.current, self.cell = name, ""
        self.module_scope = _Scope(context)
        self.scopes = {}

    def finding(self, line, what):
        self.findings.append(Finding(self.cell, line, f"{self.current} {what}"))

    def run(self):
        walked = set()
        while self.todo:
            current = self.todo.pop()
            if current in self.seen:
                continue
            self.seen.add(current)
            sites = [(cell_id, parts, ()) for cell_id, parts in self.context.bindings.get(current, [])]
            if current not in self.context.imported:
                sites += self.context.mutations.get(current, [])
            if self.is_data(current):
                # what a call it is handed to, or a name bound to it, may put into it
                sites += self.context.handed.get(current, [])
                for other in sorted(self.shares(current)):
                    sites += self.context.mutations.get(other, []) + self.context.handed.get(other, [])
            self.bound_to(current)
            for cell_id, parts, funcs in sites:
                scope = self.scope_of(funcs)
                if current in scope.local:
                    continue   # a variable of that function's own, not the notebook's
                for part in parts:
                    if id(part) in walked or isinstance(part, (ast.Import, ast.ImportFrom)):
                        continue   # an import's names are checked where they are used
                    walked.add(id(part))
                    self.current, self.cell = current, cell_id
                    self.visit(part, scope, scope)
        if self.stateful:
            self.stashed()
        self.handed_to_libraries()
        return _unique(self.findings)

    def handed_to_libraries(self):
        """`np.seterrcall(np.convolve)`: a library may keep what it is given and hand it back to any
        graded function (`np.geterrcall()`); the check cannot follow it there."""
        context = self.context
        for cell_id, call, funcs in context.calls:
            root = _root_name(call.func)
            if root not in context.imported:
                continue
            scope = self.scope_of(funcs)
            if root in scope.local:
                continue
            callee = {q.replace(".()", "") for q in _candidates(call.func, scope.resolve)}
            if any(_matches(q, PURE_CALLS + COURSE_MODULES) for q in callee):
                continue
            for a in list(call.args) + [k.value for k in call.keywords]:
                base, attrs = _chain(a)
                # a library's function itself, named (not a value computed from one, not a constant)
                if isinstance(base, ast.Name) and base.id in context.imported and base.id not in scope.local \
                        and not (attrs and attrs[-1].isupper()):
                    for c in sorted(".".join([q] + attrs) for q in context.resolve(base.id)):
                        if self.rules.hit(c):
                            self.current, self.cell = self.name, cell_id
                            self.finding(call.lineno, f"cannot be checked: the notebook hands {_shown(c)} to "
                                                      f"{ast.unparse(call.func)[:40]}, which may keep it for it")

    def is_data(self, name):
        c = self.context
        return name in c.bindings and name not in c.imported and name not in c.functions and name not in c.classes

    def shares(self, name):
        """The names bound (at any remove) to an object `name` holds."""
        found, todo = set(), [name]
        while todo and len(found) < 64:
            for other in self.context.bound_from.get(todo.pop(), ()):
                if other not in found and other != name and self.is_data(other):
                    found.add(other)
                    todo.append(other)
        return found

    def bound_to(self, current):
        """What an import, or a star import, binds `current` to."""
        for cell_id, parts in self.context.bindings.get(current, []):
            for part in parts:
                for bound, dotted in _import_bindings(part) if isinstance(part, (ast.Import, ast.ImportFrom)) else []:
                    if bound == current and self.rules.hit(dotted):
                        self.current, self.cell = current, cell_id
                        self.finding(part.lineno, f"is {dotted} (imported under that name)")
        for module in self.context.names.stars:
            # a name the notebook binds itself is only a star import's if that module has it
            dotted = f"{module}.{current}"
            if self.rules.hit(dotted, names=current not in self.context.bindings):
                self.current, self.cell = current, ""
                self.finding(0, f"may be {dotted} (from {module} import *)")

    def stashed(self):
        """A function that keeps state between calls may keep what the notebook called it with."""
        mine = self.seen
        for cell_id, call, funcs in self.context.calls:
            root = _root_name(call.func)
            passed = [a for a in list(call.args) + [k.value for k in call.keywords]]
            if root not in mine and not any(isinstance(a, ast.Name) and a.id in mine for a in passed):
                continue
            scope = self.scope_of(funcs)
            for a in passed:
                for c in sorted(_candidates(a, scope.resolve)):
                    hit = self.rules.hit(c)
                    if hit:
                        self.current, self.cell = self.name, cell_id
                        self.finding(call.lineno, f"keeps state between calls, and is called with {_shown(c)} "
                                                  f"({ast.unparse(call)[:60]})")

    # -------------------------------------------------------------- the walk

    def visit(self, node, scope, function):
        """Check `node`; `scope`: the names bound around it; `function`: the scope functions inside see."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return self.function(node, scope, function)
        if isinstance(node, ast.ClassDef):
            for part in _header(node):
                self.visit(part, scope, function)
            bound, _, values, imports = _own_scope(node.body)
            local = frozenset(scope.local | bound)
            inner = _Scope(self.context, local, {n: set(d) for n, d in scope.alias.items() if n not in bound},
                           scope.function)
            for n, dotted in imports:
                inner.alias.setdefault(n, set()).add(dotted)
            _settle(inner.alias, values, passes=3,
                    resolve=lambda n: inner.alias.get(n, ()) if n in local else scope.resolve(n))
            for st in node.body:
                self.visit(st, inner, function)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            first = node.generators[0].iter
            self.visit(first, scope, function)
            targets = [(n, g.iter) for g in node.generators for n in _target_names(g.target)]
            inner = scope.inner({n for n, _ in targets}, set(), targets)
            inner.function = scope.function
            for g in node.generators:
                if g.iter is not first:
                    self.visit(g.iter, inner, function)
                for cond in g.ifs:
                    self.visit(cond, inner, function)
            for part in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
                self.visit(part, inner, function)
            return
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Global, ast.Nonlocal)) and scope.function:
            self.stateful = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for _, dotted in _import_bindings(node):
                hit = self.rules.hit(dotted.lstrip(".")) or self.rules.hit(getattr(node, "module", None) or "~")
                if hit:
                    self.finding(line, f"imports {dotted} ({hit} is not allowed)")
                    break
            return
        elif isinstance(node, (ast.Attribute, ast.Name)) or _getattr_const(node):
            return self.reference(node, scope, function)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            self.store(node, scope)
        elif isinstance(node, ast.Call):
            self.call(node, scope)
        elif isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
            self.module_value(node.value, scope, "returns")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value \
                and _DOTTED.fullmatch(node.value):
            hit = _matches(node.value, self.rules.prefixes)
            if hit:
                self.finding(line, f"names {node.value!r}")
        for child in ast.iter_child_nodes(node):
            self.visit(child, scope, function)

    def scope_of(self, funcs):
        """The scope inside the functions `funcs` (outermost first)."""
        scope = self.module_scope
        for fn in funcs:
            scope = self.function_scope(fn, scope)
        return scope

    def function_scope(self, node, function):
        key = (id(node), id(function))
        if key not in self.scopes:
            self.scopes[key] = self._function_scope(node, function)
        return self.scopes[key]

    def function(self, node, scope, function):
        a = node.args
        for part in [d for d in a.defaults + a.kw_defaults if d is not None] + \
                (getattr(node, "decorator_list", []) if not isinstance(node, ast.Lambda) else []):
            self.visit(part, scope, function)
            if not isinstance(part, (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.Tuple)) \
                    and part not in getattr(node, "decorator_list", []):
                self.stateful = True   # a mutable default keeps what one call puts in it for the next
        inner = self.function_scope(node, function)
        if isinstance(node, ast.Lambda):
            self.visit(node.body, inner, inner)
            self.module_value(node.body, inner, "returns")
        else:
            for st in node.body:
                self.visit(st, inner, inner)

    def _function_scope(self, node, function):
        a = node.args
        args = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x is not None]
        positional = a.posonlyargs + a.args
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        params = list(zip([x.arg for x in positional], defaults)) + \
            list(zip([x.arg for x in a.kwonlyargs], a.kw_defaults))
        body = node.body if isinstance(node, ast.Lambda) else None
        bound, declared, values, imports = _own_scope([] if body is not None else node.body,
                                                      [body] if body is not None else [])
        return function.inner(bound | {x.arg for x in args}, declared, values, params, imports)

    def reference(self, node, scope, function):
        """A name or attribute chain that is read (or stored into)."""
        line = getattr(node, "lineno", 0)
        root, attrs = _chain(node)
        ctx = getattr(node, "ctx", ast.Load())
        if not isinstance(ctx, ast.Load):
            if isinstance(node, ast.Attribute):
                self.store(node, scope)
                self.visit(root, scope, function)
            return
        for a in attrs:
            if a in TAMPER_ATTRS:
                self.finding(line, f"uses .{a}, so what it reaches cannot be checked")
        if isinstance(root, ast.Name):
            name = root.id
            cands = {".".join([c] + attrs) for c in scope.resolve(name)}
            if name not in scope.local:
                cands |= self.free(name, attrs, line)
        else:
            base = _candidates(root, scope.resolve)
            if any(self.rules.hit(c) for c in base):
                cands = set()   # reported where the base is visited
            else:
                cands = {".".join([c] + attrs) for c in base}
        reported = False
        if any(c.startswith(TOO_MANY) for c in cands):
            self.finding(line, f"uses {ast.unparse(node)[:60]}, which may stand for too many things to be checked")
            reported = True
        for c in sorted(cands):
            hit = self.rules.hit(c)
            if hit:
                through = "" if isinstance(root, ast.Name) else f" (through {ast.unparse(node)[:60]})"
                self.finding(line, f"uses {_shown(c)}{through}")
                reported = True
            elif _matches(c, IO_FUNCTIONS):
                self.finding(line, f"reads or writes files ({_shown(c)})")
            elif _matches(c, COMPUTED_LOOKUPS) or _tamper_name(c):
                self.finding(line, f"uses {_shown(c)}, so what it looks up cannot be checked")
        if self.rules.library and "unfold" in attrs and not reported:
            self.finding(line, f"uses .unfold ({ast.unparse(node)[:60]}): a tensor's unfold is not allowed")
        if not isinstance(root, ast.Name):
            self.visit(root, scope, function)
        for sub in ast.walk(node):   # getattr(a, "b", default): the default, and calls inside
            if _getattr_const(sub):
                for extra in sub.args[2:] + [k.value for k in sub.keywords]:
                    self.visit(extra, scope, function)

    def free(self, name, attrs, line):
        """A name the function does not bind: the notebook's (followed), a builtin, or nothing known."""
        context = self.context
        if HISTORY.fullmatch(name):
            self.finding(line, f"uses {name}, IPython's record of what cells displayed, "
                               f"so what it holds cannot be checked")
        elif name in context.bindings:
            if name not in context.imported:
                self.todo.append(name)
            if name in context.functions and attrs and attrs[0] not in HARMLESS_ATTRS:
                self.finding(line, f"reads {name}.{attrs[0]}, an attribute of a function, which the check "
                                   f"cannot follow")
        elif context.names.stars:
            return {".".join([m, name] + attrs) for m in context.names.stars}
        elif name == "get_ipython":
            self.finding(line, "uses get_ipython, so what it runs cannot be checked")
        elif name in DYNAMIC_CALLS or name in ("getattr", "setattr", "delattr"):
            pass   # judged where it is called (`call`), or as a value below
        elif name not in BUILTINS:
            self.finding(line, f"uses {name}, which no cell of the notebook defines")
        return set()

    def store(self, node, scope):
        """`x.a = v`, `x[k] = v` inside a function: on a name it does not bind, the function keeps state."""
        root = _root_name(node)
        if scope.function and root and root not in scope.local:
            self.stateful = True

    def call(self, node, scope):
        line, f = node.lineno, node.func
        free = isinstance(f, ast.Name) and f.id not in scope.local and f.id not in self.context.bindings
        if free and f.id in DYNAMIC_CALLS:
            self.finding(line, f"calls {f.id}(), so what it runs cannot be checked")
        elif free and f.id == "getattr" and not _getattr_const(node) and \
                not (_on_self(node) and "self" in scope.local and not scope.resolve("self")):
            self.finding(line, "looks up an attribute by a computed name (getattr), so what it runs cannot be checked")
        elif free and f.id in ("setattr", "delattr"):
            self.stateful = True
        if isinstance(f, ast.Attribute) and scope.function:
            root = _root_name(f.value)
            if root and root not in scope.local and root not in self.context.imported:
                self.stateful = True   # `cache.append(x)` on the notebook's own object
        for a in list(node.args) + [k.value for k in node.keywords]:
            self.module_value(a, scope, "passes")
        # the builtins that take a function and a name: used as values they hide a look-up
        for a in list(node.args) + [k.value for k in node.keywords]:
            if isinstance(a, ast.Name) and a.id in DYNAMIC_CALLS | {"getattr", "setattr", "delattr"} \
                    and a.id not in scope.local and a.id not in self.context.bindings:
                self.finding(line, f"passes {a.id} as a value, so what it looks up cannot be checked")

    def module_value(self, node, scope, verb):
        """A module handed on as a value (`return np`, `f(np)`): what is done with it is not followed."""
        if isinstance(node, ast.Name) and node.id not in scope.local and node.id in self.context.names.modules \
                and node.id in self.context.imported:
            self.finding(getattr(node, "lineno", 0), f"{verb} the module {node.id} as a value, so what is "
                                                     f"done with it cannot be checked")


# ----------------------------------------------------------------------------- tampering

def tampering(cells):
    """Findings for code that reaches for the grader's machinery. `cells`: [(cell_id, source)]."""
    with _LOCK:
        nb = _Notebook(cells)
        findings = list(nb.problems)
        findings += [Finding(cell, 0, f"has a cell the check cannot read ({why}), which IPython may run")
                     for cell, why in nb.unreadable]
        try:
            findings += _tampering(nb.trees)
        except RecursionError:
            findings.append(Finding("", 0, "has code nested too deeply for the check to read"))
        return _unique(findings)


def _tampering(trees):
    findings = []
    names = Names(trees)
    # every name that may stand for an imported module or an object of one (not for what a call returned)
    modules = {n for n, found in names.aliases.items() if any(".()" not in c and GIVES not in c for c in found)}
    defined = {n for n, sites in definitions(trees).items()}
    extra = []
    for cell_id, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                extra.extend((cell_id, t) for t in _timeit_code(node, names, cell_id, findings))
    for cell_id, tree in list(trees) + extra:
        calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        own_object = _methods_calls_on_self(tree)
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            if id(node) in own_object:
                continue
            if isinstance(node, ast.Call) and _plants_a_file(node, names):
                findings.append(Finding(cell_id, line, f"writes a file it names itself ({ast.unparse(node)[:60]}), "
                                                       f"which could be imported in place of a module"))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for m in _imported_modules(node):
                    if _matches(m, TAMPER_MODULES) or _tamper_name(m):
                        findings.append(Finding(cell_id, line, f"imports {m}"))
                        break
                    if not _installed(m):
                        findings.append(Finding(cell_id, line, f"imports {m}, a module that is not installed "
                                                               f"(a file the notebook wrote?)"))
                        break
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TAMPER_CALLS:
                if node.func.id in ("setattr", "delattr") and len(node.args) > 1 and \
                        isinstance(node.args[0], ast.Name) and node.args[0].id == "self" and \
                        isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str) and \
                        not node.args[1].value.startswith("__"):
                    continue   # setattr(self, "w", ...) on an object of its own
                findings.append(Finding(cell_id, line, f"calls {node.func.id}()"))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                    and not _getattr_const(node):
                findings.append(Finding(cell_id, line, "looks up an attribute by a computed name (getattr)"))
            elif _getattr_const(node) and (node.args[1].value in TAMPER_ATTRS or
                                           _tamper_name(names.qualify(node) or "")):
                findings.append(Finding(cell_id, line, f"uses getattr(..., {node.args[1].value!r})"))
            elif isinstance(node, ast.Attribute) and node.attr in TAMPER_ATTRS:
                findings.append(Finding(cell_id, line, f"uses .{node.attr}"))
            elif isinstance(node, ast.Attribute) and any(_tamper_name(q) for q in names.qualify_all(node)):
                found = min(q for q in names.qualify_all(node) if _tamper_name(q))
                findings.append(Finding(cell_id, line, f"uses {_shown(found)}"))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and \
                    any(_tamper_name(q) for q in names.aliases.get(node.id, ())):
                found = min(q for q in names.aliases[node.id] if _tamper_name(q))
                findings.append(Finding(cell_id, line, f"uses {_shown(found)}"))
            elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
                findings.append(Finding(cell_id, line, f"uses {node.id}"))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in calls and \
                    node.id in TAMPER_CALLS | {"getattr"} and node.id not in defined:
                findings.append(Finding(cell_id, line, f"uses {node.id} as a value, so what it reaches cannot "
                                                       f"be checked"))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in TAMPER_METHODS:
                findings.append(Finding(cell_id, line, f"defines {node.name}"))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Attribute):
                            base = _root_name(sub)
                            if base in modules:
                                what = min(q for q in names.aliases[base] if ".()" not in q and GIVES not in q)
                                findings.append(Finding(cell_id, line, f"changes the module {what} "
                                                                       f"(assigns {ast.unparse(sub)})"))
    return findings


def _plants_a_file(call, names):
    """Whether a call writes bytes the notebook chooses to a file whose name it does not fix to a
    harmless suffix (`np.savetxt("scipy.py", ...)`, `a.tofile("x.so")`)."""
    f = call.func
    writer = isinstance(f, ast.Attribute) and f.attr in WRITER_METHODS
    dotted = {q.replace(".()", "") for q in names.qualify_all(f)}
    if not writer and not any(_matches(q, [w.replace(".()", "") for w in WRITERS]) for q in dotted):
        return False
    position = 1 if any(_matches(q, ["torch.save"]) for q in dotted) else 0
    given = [call.args[position]] if len(call.args) > position else []
    given += [k.value for k in call.keywords if k.arg in ("f", "fname", "file", "filename", "fid")]
    return not given or not all(isinstance(g, ast.Constant) and isinstance(g.value, str)
                                and g.value.lower().endswith(SAFE_SUFFIXES) for g in given)


def _imported_modules(node):
    """The modules an import names, its package first: `from os import dup2` -> os, os.dup2."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    module = "." * node.level + (node.module or "")
    return [module] + [f"{module}.{a.name}" if node.module else f"{module}{a.name}" for a in node.names]


def _timeit_code(call, names, cell_id, findings):
    """`timeit.timeit("np.convolve(a, b)")` runs the code in its string: the trees of that code (a
    string the check cannot read is a finding)."""
    dotted = names.qualify(call.func) or ""
    if not _matches(dotted, ["timeit.timeit", "timeit.repeat", "timeit.Timer", "timeit.main"]):
        return []
    trees = []
    given = list(call.args[:2]) + [k.value for k in call.keywords if k.arg in ("stmt", "setup")]
    for arg in given:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            reader = _Reader(cell_id)
            tree, why = reader.read(arg.value, call.lineno - 1, 1)
            findings.extend(reader.problems)
            if tree is None:
                findings.append(Finding(cell_id, call.lineno, f"gives {dotted} code that cannot be read ({why})"))
            else:
                trees.append(tree)
        elif not isinstance(arg, (ast.Lambda, ast.Name, ast.Attribute)):
            findings.append(Finding(cell_id, call.lineno, f"gives {dotted} code the check cannot read"))
    return trees


def _tamper_name(dotted):
    """Whether a dotted name (or the part of it from a module reached through another: `os.sys.modules`)
    is one of the TAMPER_NAMES or inside a TAMPER_MODULES module."""
    if not dotted:
        return False
    if ".()" in dotted and _tamper_name(dotted.replace(".()", "")):
        return True   # `pathlib.Path(p).write_text`: a method of what the class makes
    parts = dotted.split(".")
    for i in range(len(parts)):
        if i and parts[i] not in REEXPORTED:
            continue
        tail = ".".join(parts[i:])
        if any(fnmatch.fnmatchcase(tail, pattern) for pattern in TAMPER_NAMES):
            return True
        if _matches(tail, TAMPER_MODULES):
            return True
    return False


@functools.lru_cache(maxsize=2048)
def _installed(dotted):
    """Whether the top-level module of `dotted` is in the standard library or installed: found by the
    import system without importing anything, and not in the current folder (where a notebook writes)."""
    top = dotted.split(".")[0]
    if not top or dotted.startswith("."):
        return False
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    from importlib.machinery import PathFinder
    cwd = os.path.realpath(os.getcwd())
    path = [p for p in sys.path if p and os.path.realpath(p) != cwd]
    for finder in sys.meta_path:
        try:
            if finder is PathFinder:
                spec = PathFinder.find_spec(top, path)
            elif hasattr(finder, "find_spec"):
                spec = finder.find_spec(top, None)
            else:
                continue
        except Exception:  # noqa: BLE001, S112 - a finder that fails finds nothing
            continue
        if spec is not None:
            return True
    return False


def _shown(dotted):
    """A dotted name for a sentence: `torch.tensor.().unfold` -> torch.tensor(...).unfold (and no
    marks of what calling a function gives)."""
    return dotted.replace(GIVES, "").replace(".()", "(...)")


def _unique(findings):
    seen, out = set(), []
    for f in findings:
        if (f.cell, f.what) not in seen:
            seen.add((f.cell, f.what))
            out.append(f)
    return out
