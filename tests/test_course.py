"""The course notebooks: course/ is built from solutions/, the student version gives nothing away,
the instructor version runs and passes its checks, and the student version fails only where it must.

Every assignment folder under solutions/ is checked the same way; its graded functions are those
that `cnnkit.checks.GRADED` lists under the folder's two-digit prefix (course.md's table).
"""

import json
import re

import nbclient
import nbformat
import pytest

from autograde import build
from cnnkit import checks
from conftest import REPO

ASSIGNMENTS = build.assignments()
# figures each instructor notebook must draw at least (01: sliding window, binary image, photograph,
# feature maps; 02: coverage, padding, modes, stride, photograph, dilation, explorer, receptive fields)
MIN_FIGURES = {"01": 4, "02": 7}
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "hidden=True")
WIDGET = "application/vnd.jupyter.widget-view+json"


def number(assignment):
    return assignment.split("-")[0]


def graded_names(assignment):
    return checks.GRADED.get(number(assignment), ())


def sources(assignment):
    return sorted((REPO / "solutions" / assignment).glob("*.py"))


def students(assignment):
    return [REPO / "course" / assignment / f"{s.stem}.ipynb" for s in sources(assignment)]


GRADED = [(a, name) for a in ASSIGNMENTS for name in graded_names(a)]
NOTEBOOKS = [(a, s.stem) for a in ASSIGNMENTS for s in sources(a)]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def graded_cells(notebooks):
    """{grade_id: cell} over the notebooks of an assignment (a grade_id may appear only once)."""
    cells = {}
    for nb in notebooks:
        for c in nb.cells:
            grade_id = nbgrader_meta(c).get("grade_id")
            if grade_id:
                assert grade_id not in cells, f"grade_id {grade_id!r} appears twice in the assignment"
                cells[grade_id] = c
    return cells


def execute(nb, tmp_path, allow_errors=False):
    """Run a notebook top to bottom in a fresh python3 kernel (this interpreter: jupyter_client
    starts the spec's `python` as sys.executable)."""
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory):
    """Every assignment built from solutions/ into a temporary course root and course folder."""
    tmp = tmp_path_factory.mktemp("course-build")
    build.build(root=tmp / "root", course=tmp / "course")
    return tmp / "course"


# ----------------------------------------------------------------------------- the build

def test_every_assignment_is_graded_and_course_has_no_strays():
    assert "01-convolution" in ASSIGNMENTS and "02-padding-stride" in ASSIGNMENTS
    for a in ASSIGNMENTS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+", a), f"solutions/{a}: name it NN-topic"
        assert graded_names(a), f"solutions/{a}: cnnkit.checks.GRADED has no assignment {number(a)!r}"
    built = sorted(p.name for p in (REPO / "course").iterdir() if p.is_dir())
    assert built == ASSIGNMENTS, f"course/ holds {built}, solutions/ has {ASSIGNMENTS}: run `make course`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_course_is_built_from_solutions(fresh_build, assignment):
    built = sorted(p.name for p in (fresh_build / assignment).glob("*.ipynb"))
    committed = sorted(p.name for p in (REPO / "course" / assignment).glob("*.ipynb"))
    assert built == committed, f"course/{assignment} holds {committed}, solutions/ builds {built}: run `make course`"
    for name in built:
        assert (fresh_build / assignment / name).read_bytes() == (REPO / "course" / assignment / name).read_bytes(), \
            f"course/{assignment}/{name} is out of date with solutions/: run `make course` and commit the result"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_build_is_deterministic(fresh_build, tmp_path, assignment):
    again = build.build([assignment], root=tmp_path / "root", course=tmp_path / "course")
    assert again
    for path in again:
        assert path.read_bytes() == (fresh_build / assignment / path.name).read_bytes()
        assert path.read_text().endswith("}\n")


# ----------------------------------------------------------------------------- the student version

@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_student_notebook_gives_nothing_away(assignment, notebook):
    path = REPO / "course" / assignment / f"{notebook}.ipynb"
    text = path.read_text()
    for marker in MARKERS:
        assert marker not in text, f"{path.name} contains {marker!r}"

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    # fixed, unique ids; no outputs; the python3 kernel; the checks of this assignment
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata.kernelspec.name == "python3"
    assert json.loads(text).keys() == {"cells", "metadata", "nbformat", "nbformat_minor"}
    if any(nbgrader_meta(c).get("grade") for c in nb.cells):
        assert any(f'for_assignment("{number(assignment)}")' in c.source for c in nb.cells)


@pytest.mark.parametrize("assignment,name", GRADED)
def test_each_graded_function_has_its_cells(assignment, name):
    cells = graded_cells([nbformat.read(p, as_version=4) for p in students(assignment)])
    assert name in cells, f"{assignment}: no cell with grade_id {name!r} (course.md's graded function)"
    solution = cells[name]
    assert nbgrader_meta(solution)["solution"] and not nbgrader_meta(solution)["grade"]
    assert re.search(rf"^(def|class) {name}\b", solution.source, re.M), f"cell {name} must define {name}"
    assert "raise NotImplementedError()" in solution.source
    # the solution cell is followed by a visible check and a graded, locked test cell
    test = cells[f"{name}_test"]
    assert nbgrader_meta(test)["grade"] and nbgrader_meta(test)["locked"] and nbgrader_meta(test)["points"] > 0
    assert f'checks.check("{name}", {name})' in test.source
    check = cells[f"{name}_check"]
    assert nbgrader_meta(check)["locked"] and not nbgrader_meta(check)["grade"]
    assert f'checks.check("{name}", {name})' in check.source


@pytest.mark.parametrize("assignment,name", GRADED)
def test_instructor_source_keeps_the_hidden_tests(assignment, name):
    cells = graded_cells([build.to_notebook(s) for s in sources(assignment)])
    test = cells[f"{name}_test"]
    # a check that trains a model class also needs the notebook's other graded functions, by keyword
    assert re.search(rf'checks\.check\("{name}", {name}, seed=2026, hidden=True(, \w+=\w+)*\)', test.source)
    assert "### BEGIN HIDDEN TESTS" in test.source


# ----------------------------------------------------------------------------- running both versions

@pytest.mark.slow
@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_instructor_notebook_runs_and_passes_every_check(tmp_path, assignment, notebook):
    nb = execute(build.to_notebook(REPO / "solutions" / assignment / f"{notebook}.py"), tmp_path)
    outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"}
    names = [n for n in graded_names(assignment) if n in outputs]
    assert names or not any(nbgrader_meta(c).get("grade") for c in nb.cells)
    for name in names:
        assert f"checks passed for {name}" in outputs[f"{name}_check"]
        # the graded cell runs the visible checks and then the hidden ones
        assert outputs[f"{name}_test"].count(f"checks passed for {name}") == 2
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= MIN_FIGURES.get(number(assignment), 1), f"{notebook}: only {images} figures"
    # an interactive widget still shows up (as a widget) when the notebook runs without a browser
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r"\binteract\(", cell.source):
            assert any(WIDGET in o.get("data", {}) for o in cell.outputs), f"cell {cell.id}: no widget"


@pytest.mark.slow
@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_student_notebook_fails_only_in_the_graded_cells(tmp_path, assignment, notebook):
    nb = execute(nbformat.read(REPO / "course" / assignment / f"{notebook}.ipynb", as_version=4), tmp_path,
                 allow_errors=True)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        if meta.get("grade") or meta.get("grade_id", "").endswith("_check"):
            # the checks call a function that is not written yet; check() reports what it raised
            failed = errors(cell)
            assert len(failed) == 1 and "NotImplementedError" in failed[0].ename + failed[0].evalue, \
                f"cell {cell.id} should fail on NotImplementedError, got {failed}"
        else:
            assert not errors(cell), f"cell {cell.id} fails in the student notebook: {errors(cell)}"
