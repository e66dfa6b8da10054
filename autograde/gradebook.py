"""Grades into nbgrader's gradebook, so nbgrader's formgrader and exports see them.

The gradebook is nbgrader's own (`nbgrader.api.Gradebook`): SQLite by default, any SQLAlchemy URL
for a database the staff share. Only the grading command's main process writes to it, one
submission at a time as results arrive, each in its own transaction, so an interrupted run keeps
everything recorded before it stopped.

Besides the database, the formgrader reads two things from the course root, which the grading
command writes too: nbgrader's source of the assignment (``source/<assignment>/``, from solutions/,
where the formgrader finds the assignments it lists) and each graded notebook
(``autograded/<student>/<assignment>/<notebook>.ipynb``, which it shows with the scores and comments).
"""

import contextlib
import copy
import json
import os
import re
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from . import build
from .notebook import _grade_id, _meta, _source


BUSY_SECONDS = 3.0   # how long a write waits for a lock someone else holds on an SQLite gradebook


def open_gradebook(url, course_id="cnn-course"):
    """nbgrader's gradebook at `url`. An SQLite gradebook waits BUSY_SECONDS for a lock another
    program holds, then fails (the grade command goes on without it) rather than hang."""
    with _tools_on_path():
        return Gradebook(_with_busy_timeout(url), course_id=course_id)


def _with_busy_timeout(url):
    if not url.startswith("sqlite") or "timeout=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}timeout={BUSY_SECONDS:g}"


@contextlib.contextmanager
def _tools_on_path():
    """The folder of the running Python first on PATH: nbgrader runs the `alembic` command by name
    when it makes a new gradebook, and a virtual environment's python started without activating the
    environment does not have its scripts on PATH."""
    old = os.environ.get("PATH")
    here = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([here] + ([old] if old else []))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def ensure_assignment(gb, releases):
    """The assignment, its notebooks and their cells, as nbgrader's generate_assignment records them."""
    assignment = releases[0].assignment
    gb.update_or_create_assignment(assignment)
    for release in releases:
        gb.update_or_create_notebook(release.notebook, assignment)
        for cell in release.cells:
            gid, meta = _grade_id(cell), _meta(cell)
            if not gid:
                continue
            if meta.get("grade"):
                gb.update_or_create_grade_cell(gid, release.notebook, assignment,
                                               max_score=float(meta.get("points", 0)),
                                               cell_type=cell.get("cell_type", "code"))
            if meta.get("solution"):
                gb.update_or_create_solution_cell(gid, release.notebook, assignment)
            if meta.get("locked") or meta.get("solution") or meta.get("grade"):
                gb.update_or_create_source_cell(gid, release.notebook, assignment,
                                                cell_type=cell.get("cell_type", "code"),
                                                locked=bool(meta.get("locked")), source=_source(cell),
                                                checksum=meta.get("checksum"))


def record(gb, result, timestamp=None):
    """Write one student's result (a SubmissionResult) for one notebook, in one transaction: a grade per
    graded test cell, a comment per solution cell with what the grader found. On a failure nothing of
    it is kept and the gradebook can take the next result."""
    try:
        _record(gb, result, timestamp)
    except BaseException:
        try:
            gb.db.rollback()
        except Exception:  # the connection itself may be what failed
            pass
        raise


def _record(gb, result, timestamp):
    assignment, student, nb = result.assignment, result.student, result.notebook
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        # nbgrader builds the submission's objects before adding them to its session, which
        # SQLAlchemy reports as a warning on every new submission; the rows are written all the same
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            gb.add_submission(assignment, student, **({"timestamp": timestamp} if timestamp else {}))
    by_name = {f.name: f for f in result.functions}
    for name, f in by_name.items():
        grade = gb.find_grade(f"{name}_test", nb, assignment, student)
        grade.auto_score = float(f.score)
        grade.manual_score = None
        grade.needs_manual_grade = False   # nbgrader's default is True: every submission would be flagged
        try:
            comment = gb.find_comment(name, nb, assignment, student)
            comment.auto_comment = comment_text(result, f)
        except MissingEntry:
            pass
    gb.db.commit()


def comment_text(result, f):
    """The comment on one function (a FunctionResult) of `result` (a SubmissionResult)."""
    lines = [f"{f.score:g} of {f.points:g} points: {f.passed} of {f.total} checks passed."]
    if result.reason:
        lines.append(result.reason)
    lines += f.forbidden
    lines += f.messages[:1]
    return "\n".join(lines)


def ensure_source(root, assignment, solutions=build.SOLUTIONS):
    """nbgrader's source of `assignment` in the course root, from solutions/ (step 1 of the build), when
    it is not there yet: the formgrader lists only the assignments it finds in source/."""
    scripts = sorted((Path(solutions) / assignment).glob("*.py"))
    if (Path(root) / "source" / assignment).is_dir() or not scripts:
        return
    for script in scripts:
        build.write_source(build.to_notebook(script), root, assignment, script.stem)


def formgrader_notebook(data, release):
    """The graded notebook the formgrader shows (autograded/<student>/<assignment>/<notebook>.ipynb), as
    JSON text: the student's cells with the release's read-only cells and nbgrader metadata put back,
    as nbgrader's own autograde does; the release itself when the file is not a readable notebook."""
    released = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    try:
        with warnings.catch_warnings():   # nbformat warns of what it repairs (duplicate cell ids)
            warnings.simplefilter("ignore")
            cells = [c for c in nbformat.reads(data.decode("utf-8-sig"), as_version=4).cells if isinstance(c, dict)]
    except Exception:  # nbformat raises several kinds for a damaged notebook
        cells = []
    cells = cells or copy.deepcopy(release.cells)
    out, seen = [], set()
    for cell in cells:
        cell, gid = copy.deepcopy(dict(cell)), _grade_id(cell)
        rc = released.get(gid)
        if rc is None or gid in seen:     # the student's own cell (or a copy of a managed one)
            if isinstance(cell.get("metadata"), dict):
                cell["metadata"].pop("nbgrader", None)
        elif _meta(rc).get("solution") and cell.get("cell_type") == rc.get("cell_type"):
            cell["metadata"] = {"nbgrader": copy.deepcopy(_meta(rc))}
        else:
            cell = copy.deepcopy(rc)
        seen.add(gid)
        out.append(cell)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(build.KERNELSPEC),
                                            "language_info": dict(build.LANGUAGE_INFO)})
    nb["cells"] = out
    # a student's cell may hold a lone surrogate ("\\udcff" in its JSON), which no UTF-8 file can
    return re.sub("[\ud800-\udfff]", "\ufffd", json.dumps(nb, indent=1, ensure_ascii=False)) + "\n"
