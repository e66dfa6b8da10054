"""The static check (autograde.static) against a student who has read it and wants full marks without
writing the functions, and against the honest habits that must cost nothing.

Each attack must end in a finding: a forbidden use for the graded function, or tampering (no credit at
all). Each near miss must end in none. The last tests grade the course itself: every released notebook
with the instructor's solutions filled in (and a version written differently) has no finding at all.
"""

import ast
import sys
import threading

import pytest

from autograde import build, examples, grader, notebook, static

DEFAULT = grader.FORBIDDEN["default"]
SETUP = ("setup", "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom scipy import signal\n")
HONEST = '''
def convolve1d(x, k):
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)[::-1]
    padded = np.concatenate([np.zeros(len(k) - 1), x, np.zeros(len(k) - 1)])
    return np.array([padded[i:i + len(k)] @ k for i in range(len(x) + len(k) - 1)])
'''


def cells_of(source):
    """The cells: the setup, then `source` (a cell, or a list of cells: sources or (id, source))."""
    cells = [source] if isinstance(source, str) else list(source)
    return [SETUP] + [(f"c{i}", c) if isinstance(c, str) else c for i, c in enumerate(cells)]


def uses(source, name="convolve1d", forbidden=DEFAULT, **kw):
    """The forbidden-use findings for one graded function."""
    return static.forbidden_uses(cells_of(source), [name], forbidden, **kw)[name]


def tampers(source):
    return static.tampering(cells_of(source))


def flagged(source, name="convolve1d"):
    """Whether the submission gets no credit for `name`: a forbidden use, or tampering."""
    return bool(uses(source, name) or tampers(source))


def clean(source, name="convolve1d", forbidden=DEFAULT):
    return uses(source, name, forbidden) == [] and tampers(source) == []


def text(findings):
    return " | ".join(f.what for f in findings)


# ----------------------------------------------------------------------------- 1. magics

MAGIC_ATTACKS = {
    "line magic defines it": "%time def convolve1d(x, k): return np.convolve(x, k)\n",
    "line magic makes the alias": ["%time conv = np.convolve\n", "def convolve1d(x, k):\n    return conv(x, k)\n"],
    "timeit with options": "%timeit -n1 -r1 convolve1d = np.convolve\n",
    "time cell": "%%time\ndef convolve1d(x, k):\n    return np.convolve(x, k)\n",
    "timeit cell": "%%timeit -n1 -r1\ndef convolve1d(x, k):\n    return np.convolve(x, k)\n",
    "timeit setup line": "%%timeit -n1 -r1 convolve1d = np.convolve\npass\n",
    "capture cell": "%%capture out\ndef convolve1d(x, k):\n    return signal.convolve(x, k)\n",
    "magic inside the function": "def convolve1d(x, k):\n    %time y = np.convolve(x, k)\n    return y\n",
    "magic in an assignment": ["t = %time conv = np.convolve\n", "def convolve1d(x, k):\n    return conv(x, k)\n"],
    "nested magics": ["%%time\n%time conv = np.convolve\n", "def convolve1d(x, k):\n    return conv(x, k)\n"],
    "magic in a time cell's body": "%%time\n%%capture\ndef convolve1d(x, k):\n    return np.convolve(x, k)\n",
    "automagic single line": ["time conv = np.convolve\n", "def convolve1d(x, k):\n    return conv(x, k)\n"],
    "automagic in a cell magic": ["%%capture\ntime conv = np.convolve\n", "def convolve1d(x, k):\n    return conv(x, k)\n"],
    "written as the call IPython makes": ["get_ipython().run_line_magic('time', 'conv = np.convolve')\n",
                                          "def convolve1d(x, k):\n    return conv(x, k)\n"],
}


@pytest.mark.parametrize("attack", sorted(MAGIC_ATTACKS))
def test_code_behind_a_magic_is_read_like_the_rest_of_the_cell(attack):
    found = uses(MAGIC_ATTACKS[attack])
    assert any("numpy.convolve" in f.what or "scipy.signal" in f.what for f in found), found


TAMPERING_MAGICS = {
    "%time import gc\n": "imports gc",
    "%%capture\nimport gc\n": "imports gc",
    "%timeit np.allclose = lambda *a, **k: True\n": "changes the module numpy",
    "%prun convolve1d(np.ones(3), np.ones(2))\n": "%prun",
    "%%prun\nx = 1\n": "%%prun",
    "%debug x = 1\n": "%debug",
    "%%writefile helper.py\ndef convolve1d(x, k):\n    return 0\n": "writes a file",
    "%%file helper.py\nx = 1\n": "writes a file",
    "%load_ext autoreload\n": "%load_ext",
    "%run helper.py\n": "%run",
    "run helper.py\n": "%run",            # automagic: a single-line cell
    "pip install scipy\n": "%pip",
    "%env X=1\n": "%env",
    "%%bash\nls\n": "%%bash",
    "%%javascript\nalert(1)\n": "%%javascript",
    "!ls\n": "shell",
    "files = !ls\n": "shell",
    "def f():\n    !ls\n": "shell",
    "%%time\ndef convolve1d(x, k:\n    return 1\n": "cannot be read",
    "%time def (\n": "cannot be read",
    "%timeit -z f()\n": "cannot be read",
    "%%capture one two\nx = 1\n": "cannot be read",
    "get_ipython().run_line_magic('time', 'x' + '= 1')\n": "get_ipython",
    "%time get_ipython().user_ns\n": "get_ipython",
    "%alias_magic t time\n": "%alias_magic",
    "%config Completer.use_jedi = False\n": "%config",
}


@pytest.mark.parametrize("source", sorted(TAMPERING_MAGICS))
def test_other_magics_and_shell_commands_are_tampering(source):
    found = tampers(source)
    assert any(TAMPERING_MAGICS[source] in f.what for f in found), found


HONEST_MAGICS = [
    "%matplotlib inline\n",
    [("h", HONEST), ("t", "%time out = convolve1d(np.ones(5), np.ones(3))\n")],
    [("h", HONEST), ("t", "%timeit -n 3 -r 1 convolve1d(np.ones(5), np.ones(3))\n")],
    [("h", HONEST), ("t", "timeit convolve1d(np.ones(5), np.ones(3))\n")],          # automagic
    [("h", "%%time\n" + HONEST.lstrip())],
    [("h", "%%capture captured --no-stderr\n" + HONEST.lstrip())],
    [("h", HONEST), ("t", "%%timeit -n1 -r1 x = np.ones(5)\nconvolve1d(x, np.ones(3))\n")],
    [("h", HONEST), ("t", "np.pad?\n")],
    [("h", HONEST), ("t", "%precision 3\n%pprint\n")],
    # a cell magic below a cell's first line: IPython refuses the line and runs none of it
    [("h", HONEST), ("t", "# time it\n%%time\nz = 1\n")],
    # a check of one's own function against numpy's, in a cell of its own
    [("h", HONEST), ("t", "%time print(np.allclose(convolve1d([1, 2], [1, 1]), np.convolve([1, 2], [1, 1])))\n")],
]


@pytest.mark.parametrize("index", range(len(HONEST_MAGICS)))
def test_the_course_magics_cost_nothing_when_their_code_is_fine(index):
    source = HONEST_MAGICS[index]
    if isinstance(source, str):
        source = [("h", HONEST), ("t", source)]
    assert uses(source) == [] and tampers(source) == [], (uses(source), tampers(source))


def test_an_automagic_is_read_unless_an_earlier_cell_binds_a_harmless_name():
    # IPython runs `history` as %history unless a variable of that name exists
    assert tampers([("a", "history = {'loss': [0.5]}\n"), ("b", "history\n")]) == []
    assert any("%history" in f.what for f in tampers([("b", "history\n")]))
    # a binding may fail before it is made (`1/0; sx = print`): for a magic that can do harm with an
    # argument that reads as Python (`%sx ({cmd})` runs a shell command), the binding shields nothing
    assert any("%sx" in f.what for f in tampers([("a", "sx = print\n"), ("b", "sx ({cmd})\n")]))
    assert any("%run" in f.what for f in tampers([("a", "run = print\n"), ("b", "run (x)\n")]))
    assert tampers([("a", "import time\n"), ("b", "time (x)\n")]) == []


def test_a_magic_keeps_its_lines():
    found = uses([("a", "x = 1\n\n%%time\n"), ("b", "%%time\n\n\ndef convolve1d(x, k):\n    return np.convolve(x, k)\n")])
    assert [(f.cell, f.line) for f in found] == [("b", 5)], found


# ----------------------------------------------------------------------------- 2. computed names

COMPUTED = {
    "getattr with a computed name": "def convolve1d(x, k):\n    return getattr(np, 'con' + 'volve')(x, k)\n",
    "getattr with a constant": "def convolve1d(x, k):\n    return getattr(np, 'convolve')(x, k)\n",
    "module __dict__": "def convolve1d(x, k):\n    return np.__dict__['convolve'](x, k)\n",
    "vars of a module": "def convolve1d(x, k):\n    return vars(np)['convolve'](x, k)\n",
    "attrgetter": "import operator\ndef convolve1d(x, k):\n    return operator.attrgetter('convolve')(np)(x, k)\n",
    "import_module": "import importlib\ndef convolve1d(x, k):\n    return importlib.import_module('numpy').convolve(x, k)\n",
    "__import__": "def convolve1d(x, k):\n    return __import__('numpy').convolve(x, k)\n",
    "sys.modules": "import sys\ndef convolve1d(x, k):\n    return sys.modules['numpy'].convolve(x, k)\n",
    "os.sys.modules": "import os\ndef convolve1d(x, k):\n    return os.sys.modules['numpy'].convolve(x, k)\n",
    "eval of a built string": "def convolve1d(x, k):\n    return eval('np.con' + 'volve')(x, k)\n",
    "exec": "def convolve1d(x, k):\n    out = {}\n    exec('r = np.convolve(x, k)', globals(), out)\n    return out['r']\n",
    "compile": "def convolve1d(x, k):\n    return eval(compile('np.convolve', 's', 'eval'))(x, k)\n",
    "reduce(getattr)": "import functools\ndef convolve1d(x, k):\n    return functools.reduce(getattr, ['convolve'], np)(x, k)\n",
    "getattr as a value": "g = getattr\ndef convolve1d(x, k):\n    return g(np, 'convolve')(x, k)\n",
    "type(...).__getattribute__": "def convolve1d(x, k):\n    return type(np).__getattribute__(np, 'convolve')(x, k)\n",
    "object.__getattribute__": "def convolve1d(x, k):\n    return object.__getattribute__(np, 'convolve')(x, k)\n",
    "module __getattr__": "def convolve1d(x, k):\n    return np.__getattr__('convolve')(x, k)\n",
    "string.Formatter": "import string\ndef convolve1d(x, k):\n    return string.Formatter().get_field('0.convolve', (np,), {})[0](x, k)\n",
    "pydoc.locate": "import pydoc\ndef convolve1d(x, k):\n    return pydoc.locate('numpy.convolve')(x, k)\n",
    "computed at module level": "name = 'con' + 'volve'\nimpl = getattr(np, name)\ndef convolve1d(x, k):\n    return impl(x, k)\n",
    "a module in a list": "m = [np][0]\ndef convolve1d(x, k):\n    return m.convolve(x, k)\n",
    "a module in a dict": "ms = {'n': np}\ndef convolve1d(x, k):\n    return ms['n'].convolve(x, k)\n",
    "a helper that returns the module": "def pick():\n    return np\ndef convolve1d(x, k):\n    return pick().convolve(x, k)\n",
    "a local alias of the module": "def convolve1d(x, k):\n    m = np\n    return m.convolve(x, k)\n",
    "a default argument": "def convolve1d(x, k, m=np):\n    return m.convolve(x, k)\n",
    "a comprehension's own np": "def convolve1d(x, k):\n    [np for np in [0]]\n    return np.convolve(x, k)\n",
    "a nested function's own np": "def convolve1d(x, k):\n    def inner():\n        np = 1\n    return np.convolve(x, k)\n",
    "IPython's last output": [("a", "np.convolve\n"), ("b", "def convolve1d(x, k):\n    return _(x, k)\n")],
    "IPython's output history": [("a", "np.convolve\n"), ("b", "def convolve1d(x, k):\n    return Out[1](x, k)\n")],
    "a name no cell defines": "def convolve1d(x, k):\n    return undefined_helper(x, k)\n",
    "a module passed around": "def run(m, x, k):\n    return m.convolve(x, k)\ndef convolve1d(x, k):\n    return run(np, x, k)\n",
    "annotations": "x: np.convolve = 1\ndef convolve1d(x, k):\n    return __annotations__['x'](x, k)\n",
    "sys through warnings": "import warnings\ndef convolve1d(x, k):\n    return warnings.sys.modules['numpy'].convolve(x, k)\n",
    "__builtins__": "def convolve1d(x, k):\n    return __builtins__.getattr(np, 'convolve')(x, k)\n",
    "getattr with a starred name": "def convolve1d(x, k):\n    return getattr(np, *['convolve'])(x, k)\n",
    "super().__getattribute__": "def convolve1d(x, k):\n    return super(type(np), np).__getattribute__('convolve')(x, k)\n",
    "a lambda given the module": "def convolve1d(x, k):\n    return (lambda m: m.convolve)(np)(x, k)\n",
    "typing.get_type_hints": "import typing\ndef f(a: 'np.convolve'): pass\ndef convolve1d(x, k):\n    return typing.get_type_hints(f)['a'](x, k)\n",
}


@pytest.mark.parametrize("attack", sorted(COMPUTED))
def test_a_name_the_check_cannot_resolve_is_not_credited(attack):
    assert flagged(COMPUTED[attack]), attack


def test_computed_look_ups_are_named_for_the_function_and_as_tampering():
    found = uses(COMPUTED["getattr with a computed name"])
    assert "cannot be checked" in found[0].what
    for attack in ("module __dict__", "vars of a module", "attrgetter", "import_module", "__import__",
                   "sys.modules", "eval of a built string", "reduce(getattr)", "type(...).__getattribute__",
                   "computed at module level", "getattr as a value", "os.sys.modules"):
        assert tampers(COMPUTED[attack]), attack
    assert "numpy.convolve" in text(uses(COMPUTED["getattr with a constant"]))
    assert "numpy.convolve" in text(uses(COMPUTED["a helper that returns the module"]))
    assert "numpy.convolve" in text(uses(COMPUTED["a comprehension's own np"]))


NEAR_MISSES = {
    "getattr on its own object": '''
class Layer:
    def __init__(self):
        self.weight = np.ones(3)
        setattr(self, "bias", 0.0)

    def scale(self):
        return getattr(self, "weight") * 2 + getattr(self, "bias", 0.0)


def convolve1d(x, k):
    return np.asarray(x) * Layer().scale()[0]
''',
    "class names and attributes": '''
def convolve1d(x, k):
    assert type(x).__name__ in ("ndarray", "list") or x.__class__.__name__ == "tuple"
    assert hasattr(x, "__len__") and isinstance(k, (list, np.ndarray))
    return np.asarray(x, dtype=float)
''',
    "sliding windows": '''
def convolve1d(x, k):
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)
    padded = np.pad(x, len(k) - 1)
    return np.lib.stride_tricks.sliding_window_view(padded, len(k)) @ k[::-1]
''',
    "a variable named signal": '''
signal = np.sin(np.linspace(0, 1, 5))   # the notebook's own signal, not scipy's

def convolve1d(x, k):
    signal = np.asarray(x, dtype=float)
    out = np.zeros(len(signal) + len(k) - 1)
    for i, s in enumerate(signal):
        out[i:i + len(k)] += s * np.asarray(k, dtype=float)
    return out
''',
    "standard modules": '''
import math, itertools, functools, operator

def convolve1d(x, k):
    n = functools.reduce(operator.mul, [len(x) + len(k) - 1], 1)
    out = [0.0] * n
    for (i, a), (j, b) in itertools.product(enumerate(x), enumerate(k)):
        out[i + j] += a * b
    return np.array(out) * math.prod([1.0])
''',
    "comparing with numpy outside the function": [
        ("h", HONEST),
        ("t", "x, k = np.arange(5.0), np.ones(3)\nexpected = np.convolve(x, k)\n"
              "print(np.allclose(convolve1d(x, k), expected), np.allclose(convolve1d(x, k), np.convolve(x, k)))\n"
              "results = {'mine': convolve1d(x, k)}\nresults['numpy'] = np.convolve(x, k)\n"
              "for f in (convolve1d, np.convolve):\n    print(f(x, k))\n")],
    "a helper and a constant": '''
EPS = 1e-12
scaled = np.ones(3) / EPS
scaled[0] = np.convolve([1.0], [EPS])[0]     # a scratch computation next to the constant
print(EPS, np.convolve([1.0], [1.0]))

def flip(k):
    return np.asarray(k, dtype=float)[::-1]

def convolve1d(x, k):
    k = flip(k)
    x = np.pad(np.asarray(x, dtype=float), len(k) - 1)
    return np.array([x[i:i + len(k)] @ k + EPS * 0 for i in range(len(x) - len(k) + 1)])
''',
    "a local called like a module": '''
def convolve1d(x, k):
    x = np.asarray(x, dtype=float)
    y = x.copy()
    y.sort()
    return np.convolve.__name__ and x
''',
}


@pytest.mark.parametrize("case", sorted(set(NEAR_MISSES) - {"a local called like a module"}))
def test_honest_code_near_the_rules_has_no_finding(case):
    source = NEAR_MISSES[case]
    assert uses(source) == [] and tampers(source) == [], (uses(source), tampers(source))


# ----------------------------------------------------------------------------- all bindings count

BINDINGS = {
    "a later import": [("h", HONEST), ("i", "from numpy import convolve as convolve1d\n")],
    "a definition under if": [("h", HONEST), ("i", "if True:\n    def convolve1d(x, k):\n        return np.convolve(x, k)\n")],
    "an earlier definition under try": [("i", "try:\n    convolve1d = np.convolve\nexcept Exception:\n    pass\n"), ("h", HONEST)],
    "a loop's target": [("h", HONEST), ("i", "for convolve1d in [np.convolve]:\n    pass\n")],
    "a with target": [("h", HONEST), ("i", "import contextlib\nwith contextlib.nullcontext(np.convolve) as convolve1d:\n    pass\n")],
    "a walrus": [("h", HONEST), ("i", "print(convolve1d := np.convolve)\n")],
    "tuple unpacking": [("h", HONEST), ("i", "convolve1d, y = np.convolve, 1\n")],
    "a global set inside a function": [("h", HONEST), ("i", "def setup():\n    global convolve1d\n    convolve1d = np.convolve\nsetup()\n")],
    "a star import": [("h", HONEST), ("i", "from scipy.signal import *\n")],
    "a dict filled later": [("t", "table = {}\ntable['f'] = np.convolve\n"), ("h", "def convolve1d(x, k):\n    return table['f'](x, k)\n")],
    "a list appended to": [("t", "impls = []\nimpls.append(signal.convolve)\n"), ("h", "def convolve1d(x, k):\n    return impls[0](x, k)\n")],
    "a dict updated inside a function": [("t", "table = {}\ndef fill():\n    table.update(f=np.convolve)\nfill()\n"),
                                         ("h", "def convolve1d(x, k):\n    return table['f'](x, k)\n")],
    "an attribute of a helper": [("t", "def helper():\n    pass\nhelper.impl = np.convolve\n"),
                                 ("h", "def convolve1d(x, k):\n    return helper.impl(x, k)\n")],
    "an attribute of a class": [("t", "class K:\n    pass\nK.impl = staticmethod(np.convolve)\n"),
                                ("h", "def convolve1d(x, k):\n    return K.impl(x, k)\n")],
    "a mutable default filled by a call": [("h", "def convolve1d(x, k, _impl=[]):\n    if callable(x):\n        _impl.append(x)\n"
                                                 "        return None\n    return _impl[0](x, k)\n"),
                                           ("t", "convolve1d(np.convolve, None)\n")],
    "a closure made by a factory": [("h", "def make(f):\n    def run(x, k):\n        return f(x, k)\n    return run\n"
                                          "convolve1d = make(np.convolve)\n")],
    "a decorator": [("h", "import functools\n@functools.wraps(np.convolve)\ndef convolve1d(x, k):\n    return x\n")],
    "numpy star import": [("s", "from numpy import *\n"), ("h", "def convolve1d(x, k):\n    return convolve(x, k)\n")],
    "an exception's arguments": [("t", "try:\n    raise ValueError(np.convolve)\nexcept ValueError as e:\n    err = e\n"),
                                 ("h", "def convolve1d(x, k):\n    return err.args[0](x, k)\n")],
    "a match capture": [("t", "match np.convolve:\n    case impl:\n        pass\n"),
                        ("h", "def convolve1d(x, k):\n    return impl(x, k)\n")],
    "a global set in a class body": [("t", "class K:\n    global impl\n    impl = np.convolve\n"),
                                     ("h", "def convolve1d(x, k):\n    return impl(x, k)\n")],
    "operator.setitem": [("t", "import operator\ntable = {}\noperator.setitem(table, 'f', np.convolve)\n"),
                         ("h", "def convolve1d(x, k):\n    return table['f'](x, k)\n")],
    "a second name for the same dict": [("t", "table = {}\nt = table\nt['f'] = np.convolve\n"),
                                        ("h", "def convolve1d(x, k):\n    return table['f'](x, k)\n")],
    "a nested dict": "d = {'a': {}}\nd['a']['f'] = np.convolve\ndef convolve1d(x, k):\n    return d['a']['f'](x, k)\n",
    "an instance's method stores it": "class H:\n    def set(self, f):\n        self.f = f\nh = H()\nh.set(np.convolve)\n"
                                      "def convolve1d(x, k):\n    return h.f(x, k)\n",
    "a helper rebound by a global": "def setup():\n    global helper\n    helper = np.convolve\ndef helper(x, k):\n    return x\n"
                                    "setup()\ndef convolve1d(x, k):\n    return helper(x, k)\n",
    "deleted and bound again": "def convolve1d(x, k):\n    return x\ndel convolve1d\nconvolve1d = signal.convolve\n",
    "augmented assignment": "impls = []\nimpls += [np.convolve]\ndef convolve1d(x, k):\n    return impls[0](x, k)\n",
    "a walrus in a comprehension": "[(impl := np.convolve) for _ in [0]]\ndef convolve1d(x, k):\n    return impl(x, k)\n",
    "a library that keeps it": [("t", "np.seterrcall(np.convolve)\n"),
                                ("h", "def convolve1d(x, k):\n    return np.geterrcall()(x, k)\n")],
}


@pytest.mark.parametrize("attack", sorted(BINDINGS))
def test_every_binding_and_change_of_what_a_function_reads_counts(attack):
    found = uses(BINDINGS[attack], name="correlate2d" if attack == "a star import" else "convolve1d")
    assert found, attack


# ----------------------------------------------------------------------------- 3. library convolutions

LIBRARY = {
    "scipy.linalg.convolution_matrix": "from scipy.linalg import convolution_matrix\n"
                                       "def convolve1d(x, k):\n    return convolution_matrix(k, len(x)) @ x\n",
    "scipy.linalg.circulant": "import scipy.linalg as la\ndef convolve1d(x, k):\n    return la.circulant(k) @ x\n",
    "scipy.linalg.hankel": "import scipy\ndef convolve1d(x, k):\n    return scipy.linalg.hankel(x, k) @ k\n",
    "scipy.linalg.toeplitz": "from scipy import linalg\ndef convolve1d(x, k):\n    return linalg.toeplitz(x, k) @ k\n",
    "numpy.core": "def convolve1d(x, k):\n    return np.core.multiarray.correlate(x, k[::-1], 2)\n",
    "numpy._core": "from numpy._core import multiarray as ma\ndef convolve1d(x, k):\n    return ma.correlate2(x, k[::-1], 2)\n",
    "numpy.core.numeric": "from numpy.core.numeric import convolve as c\ndef convolve1d(x, k):\n    return c(x, k)\n",
    "numpy.ma.convolve": "def convolve1d(x, k):\n    return np.ma.convolve(x, k).data\n",
    "numpy.poly1d": "def convolve1d(x, k):\n    return (np.poly1d(x) * np.poly1d(k)).coeffs\n",
    "torch._C": "def convolve1d(x, k):\n    return torch._C._nn.im2col(x, k, 1, 0, 1)\n",
    "torch.ops": "def convolve1d(x, k):\n    return torch.ops.aten.convolution(x, k, None, [1], [0], [1], False, [0], 1)\n",
    "torch.nn.grad": "def convolve1d(x, k):\n    return torch.nn.grad.conv1d_input(x.shape, k, x)\n",
    "torch.convolution": "def convolve1d(x, k):\n    return torch.convolution(x, k, None, [1], [0], [1], False, [0], 1)\n",
    "torch._convolution": "def convolve1d(x, k):\n    return torch._convolution(x, k, None, [1], [0], [1], False, [0], 1, False, False, False, False)\n",
    "torch.cudnn_convolution": "def convolve1d(x, k):\n    return torch.cudnn_convolution(x, k, [0], [1], [1], 1, False, False, False)\n",
    "torch conv_transpose": "def convolve1d(x, k):\n    return F.conv_transpose1d(x, k)\n",
    "torch through another module": "def convolve1d(x, k):\n    return F.torch.conv1d(x, k)\n",
    "torch through a private module": "def convolve1d(x, k):\n    return torch.nn.modules.conv.F.conv1d(x, k)\n",
    "Tensor.unfold": "def convolve1d(x, k):\n    return torch.from_numpy(x).unfold(0, len(k), 1) @ torch.from_numpy(k)\n",
    "unfold of a local tensor": "def convolve1d(x, k):\n    t = torch.as_tensor(x)\n    return (t.unfold(0, len(k), 1) @ torch.as_tensor(k)).numpy()\n",
    "unfold through getattr": "def convolve1d(x, k):\n    return getattr(torch.as_tensor(x), 'unfold')(0, 2, 1)\n",
    "cv2": "import cv2\ndef convolve1d(x, k):\n    return cv2.filter2D(x, -1, k)\n",
    "skimage": "from skimage.util import view_as_windows\ndef convolve1d(x, k):\n    return view_as_windows(x, len(k)) @ k\n",
    "astropy.convolution": "from astropy.convolution import convolve as ac\ndef convolve1d(x, k):\n    return ac(x, k)\n",
    "tensorflow": "import tensorflow as tf\ndef convolve1d(x, k):\n    return tf.nn.conv1d(x, k, 1, 'VALID')\n",
    "jax": "import jax.numpy as jnp\ndef convolve1d(x, k):\n    return jnp.convolve(x, k)\n",
    "keras": "from keras import layers\ndef convolve1d(x, k):\n    return layers.Conv1D(1, len(k))(x)\n",
    "a library's copy of numpy's": "import matplotlib.pylab as pl\ndef convolve1d(x, k):\n    return pl.convolve(x, k)\n",
    "interpolate is a pooling": "def convolve1d(x, k):\n    return F.interpolate(torch.as_tensor(x), scale_factor=0.5, mode='area')\n",
    "scipy.fftpack.convolve": "from scipy.fftpack import convolve as fc\ndef convolve1d(x, k):\n    return fc.convolve(x, k)\n",
}


@pytest.mark.parametrize("attack", sorted(LIBRARY))
def test_library_convolutions_under_other_names_are_forbidden(attack):
    found = uses(LIBRARY[attack])
    assert found, attack


def test_assignment_06_allows_pytorch_but_not_cnnkit():
    only = grader.FORBIDDEN["06"]
    torch_layers = ("class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    "        self.conv = torch.nn.Conv2d(1, 2, 3)\n        self.pool = torch.nn.MaxPool2d(2)\n"
                    "    def forward(self, x):\n        x = self.pool(F.relu(self.conv(x)))\n"
                    "        return F.conv2d(x, torch.ones(1, 2, 1, 1)).unfold(2, 1, 1).flatten(1)\n")
    assert uses(torch_layers, "Net", only) == []
    assert uses(torch_layers, "Net") != []   # the same class breaks the rules of 01-05
    course = "from cnnkit import reference\nclass Net(torch.nn.Module):\n    def forward(self, x):\n        return reference.relu(x)\n"
    assert "cnnkit.reference.relu" in text(uses(course, "Net", only))
    assert uses("import autograde.examples as ex\ndef Net():\n    return ex\n", "Net", only)
    # asked for explicitly, the library rules hold with any list
    assert uses(torch_layers, "Net", only, library=True) != []


LIBRARY_NEAR_MISSES = {
    "einsum and tensordot": "def convolve1d(x, k):\n    w = np.lib.stride_tricks.sliding_window_view(np.pad(x, len(k) - 1), len(k))\n"
                            "    return np.einsum('ij,j->i', w, k[::-1]) + np.tensordot(w, k[::-1], 1) * 0\n",
    "fft by hand": "def convolve1d(x, k):\n    n = len(x) + len(k) - 1\n    return np.real(np.fft.ifft(np.fft.fft(x, n) * np.fft.fft(k, n)))\n",
    "scipy.fft by hand": "import scipy.fft\ndef convolve1d(x, k):\n    n = len(x) + len(k) - 1\n"
                         "    return scipy.fft.irfft(scipy.fft.rfft(x, n) * scipy.fft.rfft(k, n), n)\n",
    "an alias of sliding windows": "from numpy.lib.stride_tricks import sliding_window_view as swv\n"
                                   "def convolve1d(x, k):\n    return swv(np.pad(x, len(k) - 1), len(k)) @ k[::-1]\n",
    "a method of its own named conv": "class Net:\n    def conv(self, x, k):\n"
                                      "        return np.array([x[i:i + len(k)] @ k for i in range(len(x) - len(k) + 1)])\n"
                                      "net = Net()\ndef convolve1d(x, k):\n    return net.conv(np.pad(x, len(k) - 1), k[::-1])\n",
    "own helpers named like the library": "def conv(x, k):\n    return np.array([sum(x[i - j] * k[j] for j in range(len(k)) if 0 <= i - j < len(x)) "
                                           "for i in range(len(x) + len(k) - 1)])\n"
                                           "def convolve1d(x, k):\n    return conv(x, k)\n",
}


@pytest.mark.parametrize("case", sorted(LIBRARY_NEAR_MISSES))
def test_numpy_arithmetic_is_not_a_library_convolution(case):
    assert clean(LIBRARY_NEAR_MISSES[case]), (uses(LIBRARY_NEAR_MISSES[case]), tampers(LIBRARY_NEAR_MISSES[case]))


# ----------------------------------------------------------------------------- 4. modules the notebook writes

WRITTEN = {
    "%%writefile helper.py\ndef f():\n    return 1\n": "writes a file",
    "open('m.py', 'w').write('x = 1')\n": "calls open()",
    "import pathlib\npathlib.Path('m.py').write_text('x = 1')\n": "pathlib.Path",
    "from pathlib import Path\nPath('m.py').write_text('x = 1')\n": "pathlib.Path",
    "import helper\n": "not installed",
    "from helper import convolve1d\n": "not installed",
    "import my_solutions.conv as c\n": "not installed",
    "from . import helper\n": "not installed",
    "def f():\n    import helper\n    return helper\n": "not installed",
    "import solutions\n": "imports solutions",
    "import tests.judging\n": "imports tests",
    "import __main__\n": "imports __main__",
    "from unittest import mock\n": "imports unittest",
    "np.savetxt('scipy.py', np.zeros(1), header='import os')\n": "writes a file it names itself",
    "np.frombuffer(b'x = 1', dtype=np.uint8).tofile('helper.cpython-311-x86_64-linux-gnu.so')\n": "writes a file",
    "name = 'scipy' + '.py'\ntorch.save({}, name)\n": "writes a file",
    "import os\nos.rename('w.npy', 'scipy.py')\n": "os.rename",
    "import os\nos.chdir('/tmp')\n": "os.chdir",
    "import logging\nlogging.basicConfig(filename='helper.py')\n": "logging.basicConfig",
    "c = np.ctypeslib.as_ctypes(np.zeros(3))\n": "numpy.ctypeslib",
}


@pytest.mark.parametrize("source", sorted(WRITTEN))
def test_a_module_the_notebook_wrote_is_tampering(source):
    found = tampers(source)
    assert any(WRITTEN[source] in f.what for f in found), found


def test_files_with_harmless_names_are_fine():
    honest = ("np.save('weights', np.zeros(3))\nnp.savetxt('out.txt', np.zeros(3))\nnp.zeros(2).tofile('raw.bin')\n"
              "torch.save({'w': torch.zeros(1)}, 'model.pt')\nimport matplotlib.pyplot as plt\nplt.savefig('figure.png')\n"
              "import os\nprint(os.path.exists('model.pt'), os.getcwd(), os.listdir('.'))\n")
    assert tampers(honest) == []


def test_installed_modules_are_fine_and_checking_imports_nothing(capsys):
    honest = ("import math, itertools, functools, collections, dataclasses, time, warnings, os.path\n"
              "import numpy, scipy, matplotlib.pyplot as plt, tqdm, torch\n"
              "from mpl_toolkits.mplot3d import Axes3D\nfrom cnnkit.checks import for_assignment\n")
    assert tampers(honest) == []
    before = set(sys.modules)
    # a dotted import would load its parent packages if asked of the import system: it is not asked
    assert tampers("import this.that\nimport antigravity.x\n") == []
    assert not ({"this", "antigravity"} & (set(sys.modules) - before))
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------- 5. threads

def test_many_notebooks_checked_at_once_from_several_threads():
    # CPython 3.11's ast module breaks when two threads parse at once ("SystemError: AST constructor
    # recursion depth mismatch"); a Dask worker grades in threads: every parse of the check is locked
    nb = examples.fill(examples.release_notebook(), {**examples.solution_sources(), **examples.MALLORY})
    cells = [(c.get("id", str(i)), notebook._source(c)) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    cells.append(("magic", "%%time\n%time x = [np.ones(3) for _ in range(3)]\n"))
    names = list(examples.GRACE)
    expected = (static.forbidden_uses(cells, names, DEFAULT), static.tampering(cells))
    parsed = [(cell, ast.dump(tree)) for cell, tree in static.parse(cells)]
    errors, results = [], []

    def work():
        try:
            for i in range(50):
                results.append([(cell, ast.dump(tree)) for cell, tree in static.parse(cells)] == parsed)
                if i % 10 == 0:
                    results.append((static.forbidden_uses(cells, names, DEFAULT), static.tampering(cells)) == expected)
        except BaseException as e:  # noqa: BLE001 - any failure in a thread is the test's failure
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(results) == 8 * 55 and all(results)
    assert expected[0]["convolve1d"] and expected[0]["correlate2d"] and not expected[0]["conv2d"]


# ----------------------------------------------------------------------------- 6. cells the check cannot read

DEEP = "-" * 5000 + "1"   # parses in IPython only where the stack is deep enough


def test_a_cell_the_check_cannot_read_is_not_credited():
    source = f"def convolve1d(x, k):\n    return np.convolve(x, k) * 0 + ({DEEP})\n"
    found = uses(source)
    assert found and "cannot be read" in found[0].what
    assert any("cannot read" in f.what for f in tampers(source))
    # the grammar changed for the cells after it: they could mean something else to IPython
    barry = [("f", "from __future__ import barry_as_FLUFL\n"), ("h", HONEST)]
    assert uses(barry) and tampers(barry)


def test_a_cell_with_a_syntax_error_defines_nothing_and_costs_nothing():
    broken = [("h", HONEST), ("b", "def convolve1d(x, k)\n    return np.convolve(x, k)\n"),
              ("c", "print(convolve1d([1], [1])\n")]
    assert uses(broken) == [] and tampers(broken) == []
    # ... and a function that only such a cell defines is simply not defined
    assert uses([("b", "def convolve1d(x, k)\n    return np.convolve(x, k)\n")]) == []


def test_parse_and_translate_keep_their_interface():
    assert static.translate("%time x = 1\n") == "get_ipython().run_line_magic('time', 'x = 1')\n"
    trees = static.parse([("a", "%%time\nimport numpy as np\n"), ("b", "def (:\n")])
    assert [cell for cell, _ in trees] == ["a"]
    names = static.Names(trees)
    assert names.alias["np"] == "numpy"
    assert names.qualify(ast.parse("np.convolve", mode="eval").body) == "numpy.convolve"


# ----------------------------------------------------------------------------- the course itself

def solved_submissions():
    """(assignment, Release, Submission) for every released notebook filled with the solutions."""
    for assignment in build.assignments():
        release_path = next((build.COURSE / assignment).glob("*.ipynb"))
        job = examples.solved_job(assignment, release_path.stem)
        release = notebook.Release.from_dict(job["release"])
        yield assignment, release, notebook.read(job["data"], release)


@pytest.mark.parametrize("assignment", build.assignments())
def test_the_course_with_its_solutions_has_no_finding_at_all(assignment):
    _, release, sub = next(s for s in solved_submissions() if s[0] == assignment)
    forbidden, _ = grader.forbidden_for(release.number)
    found = static.forbidden_uses(sub.run, [n for n, _ in release.graded], forbidden)
    assert all(v == [] for v in found.values()), found
    assert static.tampering(sub.own) == []
    # and not even the released cells themselves (what a student runs unchanged) look like tampering
    code = [(c.get("id", str(i)), notebook._source(c)) for i, c in enumerate(release.cells) if c["cell_type"] == "code"]
    assert static.tampering(code) == []


def test_code_written_differently_and_the_example_class():
    different = pytest.importorskip("test_grading_course").DIFFERENT
    for assignment in build.assignments():
        number = assignment.split("-")[0]
        sources = examples.GRACE if number == "01" else different[number]
        release_path = next((build.COURSE / assignment).glob("*.ipynb"))
        job = examples.solved_job(assignment, release_path.stem, sources)
        release = notebook.Release.from_dict(job["release"])
        sub = notebook.read(job["data"], release)
        forbidden, _ = grader.forbidden_for(release.number)
        found = static.forbidden_uses(sub.run, [n for n, _ in release.graded], forbidden)
        assert all(v == [] for v in found.values()), (assignment, found)
        assert static.tampering(sub.own) == [], assignment
    release = notebook.Release.load(build.COURSE / examples.ASSIGNMENT / f"{examples.NOTEBOOK}.ipynb")
    found = {}
    for student, data in examples.example_class().items():
        sub = notebook.read(data, release)
        if not sub.fatal:
            found[student] = (static.forbidden_uses(sub.run, [n for n, _ in release.graded], DEFAULT),
                              static.tampering(sub.own))
    assert {s for s, (f, t) in found.items() if any(f.values())} == {"mallory"}
    assert {s for s, (f, t) in found.items() if t} == {"trudy"}
    assert sorted(k for k, v in found["mallory"][0].items() if v) == ["convolve1d", "convolve2d", "correlate2d"]


def test_layers_made_and_read_on_self_by_a_computed_name_cost_nothing():
    honest = '''
import torch
from torch import nn
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        for i, (a, b) in enumerate([(400, 120), (120, 84), (84, 10)]):
            setattr(self, f"fc{i}", nn.Linear(a, b))
    def forward(self, x):
        for i in range(3):
            x = getattr(self, f"fc{i}")(x)
        return x
'''
    assert static.tampering([("c", honest)]) == []
    assert static.forbidden_uses([("c", honest)], ["LeNet5"], ["cnnkit"]) == {"LeNet5": []}
    # `self` that is not the method's own object, or a module reached the same way, still counts
    for bad in ('''
import numpy as np
class A:
    def g(self=np):
        return getattr(self, "con" + "volve")
''', '''
import numpy as np
class A:
    def g(self):
        self = np
        return getattr(self, "con" + "volve")
''', '''
import numpy as np
def g(self):
    return getattr(self, "con" + "volve")
g(np)
'''):
        assert static.tampering([("c", bad)]), bad
