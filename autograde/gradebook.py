"""Grades into nbgrader's gradebook, so nbgrader's formgrader and exports see them.

The gradebook is nbgrader's own (`nbgrader.api.Gradebook`): SQLite by default, any SQLAlchemy URL
for a database the staff share. Only the grading command's main process writes to it, one
submission at a time as results arrive, each in its own transaction, so an interrupted run keeps
everything recorded before it stopped.
"""

import warnings

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from .notebook import _grade_id, _meta, _source


def open_gradebook(url, course_id="cnn-course"):
    return Gradebook(url, course_id=course_id)


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
    """Write one student's result for one notebook: a grade per graded test cell, a comment per
    solution cell with what the grader found."""
    assignment, student, nb = result["assignment"], result["student"], result["notebook"]
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
    by_name = {f["name"]: f for f in result["functions"]}
    for name, f in by_name.items():
        grade = gb.find_grade(f"{name}_test", nb, assignment, student)
        grade.auto_score = float(f["score"])
        grade.manual_score = None
        try:
            comment = gb.find_comment(name, nb, assignment, student)
            comment.auto_comment = comment_text(result, f)
        except MissingEntry:
            pass
    gb.db.commit()


def comment_text(result, f):
    lines = [f"{f['score']:g} of {f['points']:g} points: {f['passed']} of {f['total']} checks passed."]
    if result.get("reason"):
        lines.append(result["reason"])
    lines += f["forbidden"]
    lines += f["messages"][:1]
    return "\n".join(lines)
