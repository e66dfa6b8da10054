"""The course table (cnnkit.course) resolves: every graded name reaches its reference, twin, checks,
notebooks and tests, and agrees with the checks, the README and the course's specification."""

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from cnnkit import checks, course

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO.parent / "shared" / "spec" / "course.md"
ENTRIES = [pytest.param(a, op, id=f"{a.number}-{op.name}") for a in course.ASSIGNMENTS for op in a.operations]


def resolve(path):
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("a,op", ENTRIES)
def test_reference_and_twin_resolve_and_the_checks_compare_with_the_reference(a, op):
    ref = resolve(op.reference)
    assert callable(ref)
    if op.twin:
        assert callable(resolve(op.twin))
    g = checks.graded(op.name, a.number)
    # the checks point at the reference: the same function, or the class built with its course options
    target = getattr(g.reference, "func", g.reference)
    assert target is ref or getattr(target, "__wrapped__", None) is ref or (
        isinstance(ref, type) and getattr(target, "__module__", "").startswith("cnnkit.torch")), \
        f"{a.number} {op.name}: the checks compare with {g.reference!r}, not {op.reference}"


@pytest.mark.parametrize("a,op", ENTRIES)
def test_checks_module_registers_the_name(a, op):
    module = a.checks_module(op.name)
    assert importlib.util.find_spec(module) is not None, f"no module {module}"
    source = Path(importlib.util.find_spec(module).origin).read_text()
    assert f'"{op.name}"' in source and "register(" in source, f"{module} does not register {op.name}"


@pytest.mark.parametrize("a,op", ENTRIES)
def test_notebooks_define_it_and_tests_name_it(a, op):
    solution, student = REPO / a.solution, REPO / a.student
    assert solution.is_file() and student.is_file()
    assert re.search(rf"^(def|class) {op.name}\b", solution.read_text(), re.M), f"{a.solution} defines no {op.name}"
    assert re.search(rf"(def|class) {op.name}\b", student.read_text()), f"{a.student} defines no {op.name}"
    for t in op.tests + a.checks_tests:
        path = REPO / t
        assert path.is_file(), f"{t} is missing"
    assert any(op.name in (REPO / t).read_text() for t in op.tests), f"no test of the reference of {op.name}"


def test_the_checks_grade_exactly_the_course_table():
    assert checks.GRADED == {a.number: a.functions for a in course.ASSIGNMENTS}


def test_the_readme_lists_the_package_and_every_graded_function():
    readme = (REPO / "README.md").read_text()
    assert course.package_table() in readme
    import cnnkit
    modules = {m for m, _ in course.PACKAGE}
    public = {f"cnnkit.{p.stem if p.is_file() else p.name}" for p in Path(cnnkit.__file__).parent.iterdir()
              if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())}
    assert public == modules, f"the README's package table lacks {sorted(public - modules)}"
    for a in course.ASSIGNMENTS:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{a.folder}`"))
        assert re.findall(r"`(\w+)`", row.split("|")[3]) == list(a.functions), row


def test_the_table_is_the_specifications():
    if not SPEC.is_file():
        pytest.skip("the course specification is not beside the repository")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\d\d) \|[^|]*\| (.*) \|$", SPEC.read_text(), re.M)}
    for a in course.ASSIGNMENTS:
        graded = re.findall(r"`(\w+)[`(]", rows[a.number])
        assert tuple(graded) == a.functions or sorted(graded) == sorted(a.functions), (a.number, graded)


def test_lookups_and_the_printed_table():
    assert course.assignment(4) is course.assignment("04-backprop") is course.assignment("04")
    assert [a.number for a, _ in course.find("conv2d")] == ["01", "02"]
    assert course.operation("toeplitz_1d", "05").reference == "cnnkit.reference.toeplitz_1d"
    with pytest.raises(ValueError, match="grades no"):
        course.operation("conv2d", "03")
    with pytest.raises(ValueError, match="unknown assignment"):
        course.assignment("99")
    table = course.course_table("04")
    assert "`cnnkit.checks.a04.sigmoid_cnn_gradients`" in table and "01-convolution" not in table
