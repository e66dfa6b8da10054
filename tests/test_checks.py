"""The one suite every assignment's checks pass: correct implementations pass every case, each named
mistake is named (in the judge's verdict and in `check`'s message), hostile outputs fail cleanly, and
cases are reproducible. What it runs per assignment is in tests/variants/."""

import ast
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from cnnkit import checks
from judging import HOSTILE, check_raises, diagnosed
from variants import MODULES

BY_ASSIGNMENT = {m.ASSIGNMENT: m for m in MODULES}


@pytest.fixture(autouse=True)
def _assignment_setup(request, monkeypatch):
    """What the assignment's module arranges before each of its tests (SETUP(monkeypatch)), if anything."""
    spec = getattr(request.node, "callspec", None)
    module = BY_ASSIGNMENT.get(spec.params.get("assignment")) if spec is not None else None
    if getattr(module, "SETUP", None) is not None:
        module.SETUP(monkeypatch)


def _params(attr, make):
    return [p for m in MODULES for p in make(m, getattr(m, attr, None) or {})]


def _correct(m, table):
    return [pytest.param(m.ASSIGNMENT, name, fn, id=f"{m.ASSIGNMENT}-{name}-{getattr(fn, '__name__', i)}")
            for name, fns in table.items() for i, fn in enumerate(fns)]


def _wrong(m, table):
    return [pytest.param(m.ASSIGNMENT, *w, id=f"{m.ASSIGNMENT}-{w[0]}-{w[2]}-{i}") for i, w in enumerate(table)]


def _names(m, _):
    return [pytest.param(m.ASSIGNMENT, n, id=f"{m.ASSIGNMENT}-{n}") for n in checks.GRADED[m.ASSIGNMENT]]


def _others(assignment, name):
    return dict(getattr(BY_ASSIGNMENT[assignment], "OTHERS", {}).get(name, {}))


def test_every_assignment_with_checks_is_in_the_suite():
    assert sorted(BY_ASSIGNMENT) == sorted(checks.GRADED)
    for a, m in BY_ASSIGNMENT.items():
        assert set(m.CORRECT) == set(checks.GRADED[a]), f"{a}: a correct implementation of every graded function"
        assert {w[0] for w in m.WRONG} == set(checks.GRADED[a]), f"{a}: a named mistake of every graded function"


@pytest.mark.parametrize("assignment,name,fn", _params("CORRECT", _correct))
def test_correct_implementations_pass_every_case(assignment, name, fn, capsys):
    bound = checks.for_assignment(assignment)
    others = _others(assignment, name)
    bound.check(name, fn, **others)
    assert f"checks passed for {name}" in capsys.readouterr().out
    for seed in getattr(BY_ASSIGNMENT[assignment], "HIDDEN_SEEDS", (0, 1, 7)):
        bound.check(name, fn, seed=seed, hidden=True, **others)


@pytest.mark.parametrize("assignment,name,fn,code,text", _params("WRONG", _wrong))
def test_each_mistake_is_named(assignment, name, fn, code, text):
    bound = checks.for_assignment(assignment)
    others = _others(assignment, name)
    if others or any(c.probe is not None for c in bound.cases(name)):
        # a probe's case is not one call: `check` runs it, and its message must name the mistake
        message = check_raises(bound, name, fn, code, **others)
    else:
        hits = diagnosed(bound, name, fn, code, skip_raising=True)
        assert any(text in v.message for v in hits), f"{name} [{code}]: no message holds {text!r}\n{hits[0].message}"
        message = check_raises(bound, name, fn, code)
    assert text in message
    if name in getattr(BY_ASSIGNMENT[assignment], "WRONG_HIDDEN", ()):
        diagnosed(bound, name, fn, code, hidden=True, skip_raising=True)


@pytest.mark.parametrize("assignment,name", _params("CORRECT", _names))
def test_cases_are_reproducible_differ_across_seeds_and_pickle(assignment, name):
    bound = checks.for_assignment(assignment)
    a, b, c = (bound.cases(name, seed=s, hidden=True) for s in (3, 3, 4))
    assert a and len(a) == len(b) and [u.label for u in a] == [v.label for v in b]
    assert pickle.dumps(a) == pickle.dumps(b)
    assert pickle.dumps(a) != pickle.dumps(c) or all(u.probe is not None for u in a)
    assert all(u.assignment == assignment for u in a)
    assert bound.cases(name), f"{name} has visible cases"
    pickle.loads(pickle.dumps(bound.cases(name)))


def _arrays(m, _):
    out = []
    for name in checks.GRADED[m.ASSIGNMENT]:
        own = getattr(m, "HOSTILE", {}).get(name)
        table = own if own is not None else HOSTILE
        out += [pytest.param(m.ASSIGNMENT, name, kind, table[kind], id=f"{m.ASSIGNMENT}-{name}-{kind}")
                for kind in table]
    return out


@pytest.mark.parametrize("assignment,name,kind,make", _params("CORRECT", _arrays))
def test_judge_fails_cleanly_on_hostile_output(assignment, name, kind, make):
    bound = checks.for_assignment(assignment)
    case = next(c for c in bound.cases(name) if c.probe is None or getattr(BY_ASSIGNMENT[assignment], "HOSTILE", {}).get(name))
    v = checks.judge(case, make(checks.expected(case) if case.probe is None else None))
    assert isinstance(v, checks.Verdict)
    assert v.passed is False and v.message and len(v.message) < 5000
    assert name in v.message


def _float32(m, _):
    return [pytest.param(m.ASSIGNMENT, n, id=f"{m.ASSIGNMENT}-{n}") for n in getattr(m, "FLOAT64_FOR_FLOAT32", ())]


@pytest.mark.parametrize("assignment,name", _params("CORRECT", _float32))
def test_float64_for_float32_is_named_on_hidden_cases(assignment, name):
    bound = checks.for_assignment(assignment)
    g = bound.graded(name)

    def upcast(*args, **kwargs):
        out = g.reference(*[a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
                            for a in args], **kwargs)
        return tuple(np.asarray(o, dtype=np.float64) for o in out) if isinstance(out, tuple) else \
            np.asarray(out, dtype=np.float64)

    hits = diagnosed(bound, name, upcast, "wrong_dtype", hidden=True)
    assert all("float32" in v.message for v in hits)


# ----------------------------------------------------------------------------- the checks' layout

CHECKS = Path(checks.__file__).parent


def _checks_modules():
    """(dotted name, path, is a package's __init__) of every module of cnnkit.checks but its own __init__,
    which gathers every assignment."""
    for path in sorted(CHECKS.rglob("*.py")):
        parts = ("cnnkit", "checks") + path.relative_to(CHECKS).with_suffix("").parts
        if parts[-1] == "__init__":
            if len(parts) == 3:
                continue
            yield ".".join(parts[:-1]), path, True
        else:
            yield ".".join(parts), path, False


def imported_modules(source, module, is_package):
    """Every module an import in `source` (the text of `module`) may name, relative imports resolved;
    `from a import b` names both a and a.b (b may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            yield target
            yield from (f"{target}.{a.name}" for a in node.names)


def _assignment_of(module):
    found = re.match(r"cnnkit\.checks\.a(\d\d)(\.|$)", module)
    return found and found.group(1)


def foreign_assignments(source, module, is_package):
    """The assignments other than its own whose checks `module` imports."""
    own = _assignment_of(module)
    found = {_assignment_of(m) for m in imported_modules(source, module, is_package)}
    return sorted(found - {None, own})


def test_the_import_rule_sees_relative_and_absolute_imports():
    assert foreign_assignments("from ..a01 import EDGE\nfrom . import ASSIGNMENT", "cnnkit.checks.a02.conv2d",
                               False) == ["01"]
    assert foreign_assignments("from .. import a03, common", "cnnkit.checks.a04", True) == ["03"]
    assert foreign_assignments("from .a03 import EXAMPLE", "cnnkit.checks.a04", False) == ["03"]
    assert foreign_assignments("import cnnkit.checks.a05.im2col", "cnnkit.checks.conv_mistakes", False) == ["05"]
    assert foreign_assignments("from .windows import count\nfrom ..common import pair", "cnnkit.checks.a05.im2col",
                               False) == []


@pytest.mark.parametrize("module,path,is_package", [pytest.param(*m, id=m[0]) for m in _checks_modules()])
def test_no_checks_module_imports_another_assignments_checks(module, path, is_package):
    """What two assignments share lives in a module of its own (common, conv_mistakes, ...), never in
    one assignment's checks that another imports."""
    assert foreign_assignments(path.read_text(encoding="utf-8"), module, is_package) == [], \
        f"{module} imports the checks of another assignment"
