"""The course notebooks: course/ is built from solutions/, the student version gives nothing away,
the instructor version runs and passes its checks, and the student version fails only where it must."""

import json
import re

import nbclient
import nbformat
import pytest

from autograde import build
from conftest import REPO

A01 = "01-convolution"
A01_GRADED = ["convolve1d", "correlate1d", "correlate2d", "convolve2d", "conv2d"]  # course.md, assignment 01
STUDENT_01 = REPO / "course" / A01 / "convolution.ipynb"
SOURCE_01 = REPO / "solutions" / A01 / "convolution.py"


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def execute(nb, tmp_path, allow_errors=False):
    """Run a notebook top to bottom in a fresh python3 kernel (this interpreter: jupyter_client
    starts the spec's `python` as sys.executable)."""
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=allow_errors,
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


def test_committed_course_is_built_from_solutions(fresh_build):
    built = sorted(p.relative_to(fresh_build) for p in fresh_build.rglob("*.ipynb"))
    committed = sorted(p.relative_to(REPO / "course") for p in (REPO / "course").rglob("*.ipynb"))
    assert built == committed, f"course/ holds {committed}, solutions/ builds {built}: run `make course`"
    for rel in built:
        assert (fresh_build / rel).read_bytes() == (REPO / "course" / rel).read_bytes(), \
            f"course/{rel} is out of date with solutions/: run `make course` and commit the result"


def test_build_is_deterministic(fresh_build, tmp_path):
    again = build.build([A01], root=tmp_path / "root", course=tmp_path / "course")
    for path in again:
        assert path.read_bytes() == (fresh_build / A01 / path.name).read_bytes()
    assert path.read_text().endswith("}\n")


def test_student_notebook_gives_nothing_away():
    text = STUDENT_01.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "hidden=True"):
        assert marker not in text, f"the student notebook contains {marker!r}"

    nb = nbformat.read(STUDENT_01, as_version=4)
    nbformat.validate(nb)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells if nbgrader_meta(c)}
    for name in A01_GRADED:
        assert name in cells, f"no cell with grade_id {name!r} (course.md's graded function)"
        solution = cells[name]
        assert nbgrader_meta(solution)["solution"] and not nbgrader_meta(solution)["grade"]
        assert re.search(rf"^def {name}\(", solution.source, re.M), f"cell {name} must define {name}"
        assert "raise NotImplementedError()" in solution.source
        # the solution cell is followed by a visible check and a graded, locked test cell
        test = cells[f"{name}_test"]
        assert nbgrader_meta(test)["grade"] and nbgrader_meta(test)["locked"] and nbgrader_meta(test)["points"] > 0
        assert f'checks.check("{name}", {name})' in test.source
        assert f'checks.check("{name}", {name})' in cells[f"{name}_check"].source
    # fixed, unique ids; no outputs; the python3 kernel
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert nb.metadata.kernelspec.name == "python3"
    assert json.loads(STUDENT_01.read_text()).keys() == {"cells", "metadata", "nbformat", "nbformat_minor"}


def test_instructor_source_keeps_the_hidden_tests():
    nb = build.to_notebook(SOURCE_01)
    for name in A01_GRADED:
        test = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == f"{name}_test")
        assert f'checks.check("{name}", {name}, seed=2026, hidden=True)' in test.source
        assert "### BEGIN HIDDEN TESTS" in test.source


@pytest.mark.slow
def test_instructor_notebook_runs_and_passes_every_check(tmp_path):
    nb = execute(build.to_notebook(SOURCE_01), tmp_path)
    outputs = {c.id: "".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"}
    for name in A01_GRADED:
        assert f"checks passed for {name}" in outputs[f"{name}_check"]
        # the graded cell runs the visible checks and then the hidden ones
        assert outputs[f"{name}_test"].count(f"checks passed for {name}") == 2
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 4, "the figures (sliding window, binary image, photograph, feature maps) are missing"


@pytest.mark.slow
def test_student_notebook_fails_only_in_the_graded_cells(tmp_path):
    nb = execute(nbformat.read(STUDENT_01, as_version=4), tmp_path, allow_errors=True)
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
