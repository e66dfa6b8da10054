"""A submitted notebook, compared with the released one: what to run, what changed, what is missing.

The release (course/<assignment>/<notebook>.ipynb, built by nbgrader from solutions/) is the
authority for every cell nbgrader manages. From a submission the grader takes only the student's
own code: the solution cells (matched by nbgrader's grade_id) and any code cell without nbgrader
metadata (the notebook's open cells and cells the student added). Read-only cells (visible checks,
graded tests, locked text) are never run from the submission, so editing, deleting or duplicating
them changes nothing but a note in the report; altered nbgrader metadata is ignored the same way,
with a note.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cnnkit import checks

from .errors import CourseError

MAX_NOTEBOOK_BYTES = 32 << 20


@dataclass
class Release:
    """What the grader needs to know about one released notebook."""
    assignment: str          # the folder name, e.g. "01-convolution"
    notebook: str            # the notebook's name without .ipynb
    cells: list              # the released cells (plain dicts)
    graded: list             # [(function name, points)] in notebook order

    @property
    def number(self):
        return self.assignment.split("-")[0]

    @property
    def max_score(self):
        return float(sum(p for _, p in self.graded))

    @classmethod
    def load(cls, path, assignment=None):
        """The release at `path` (a .ipynb); its graded functions are those of `cnnkit.checks`."""
        path = Path(path)
        assignment = assignment or path.parent.name
        nb = json.loads(path.read_text(encoding="utf-8"))
        number = assignment.split("-")[0]
        names = checks.GRADED.get(number)
        if names is None:
            raise CourseError(f"{assignment}: cnnkit.checks grades no assignment {number!r}")
        by_id = {_grade_id(c): c for c in nb["cells"] if _grade_id(c)}
        graded = []
        for name in names:
            test = by_id.get(f"{name}_test")
            if name not in by_id:
                continue   # this graded function lives in another notebook of the assignment
            if test is None or not _meta(test).get("points"):
                raise CourseError(f"{path}: graded function {name} has no graded test cell {name}_test with points")
            graded.append((name, float(_meta(test)["points"])))
        if not graded:
            raise CourseError(f"{path}: no graded functions of assignment {number} in this notebook")
        return cls(assignment, path.stem, nb["cells"], graded)

    def to_dict(self):
        return {"assignment": self.assignment, "notebook": self.notebook, "cells": self.cells,
                "graded": [list(g) for g in self.graded]}

    @classmethod
    def from_dict(cls, d):
        return cls(d["assignment"], d["notebook"], d["cells"], [tuple(g) for g in d["graded"]])


@dataclass
class Submission:
    """A submission read against its release."""
    run: list = field(default_factory=list)       # [(cell id, source)] to run, in order
    own: list = field(default_factory=list)       # [(cell id, source)] the student wrote or changed
    notes: list = field(default_factory=list)     # sentences for the report
    fatal: str = ""                               # why nothing can be graded ("" if it can)


def _meta(cell):
    m = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    m = m.get("nbgrader", {}) if isinstance(m, dict) else {}
    return m if isinstance(m, dict) else {}


def _grade_id(cell):
    g = _meta(cell).get("grade_id")
    return g if isinstance(g, str) and g else None


def _source(cell):
    s = cell.get("source", "")
    if isinstance(s, list):
        s = "".join(str(x) for x in s)
    return s if isinstance(s, str) else ""


def _same(a, b):
    return a.strip() == b.strip()


META_KEYS = ("grade", "solution", "locked", "points", "task")


def read(data, release):
    """Compare the bytes `data` of a submitted notebook with `release`; returns a Submission."""
    sub = Submission()
    if len(data) > MAX_NOTEBOOK_BYTES:
        sub.fatal = f"the notebook is {len(data) / 2**20:.1f} MiB, more than the {MAX_NOTEBOOK_BYTES >> 20} MiB allowed"
        return sub
    try:
        text = data.decode("utf-8-sig")   # an editor may start the file with a byte-order mark
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        sub.fatal = f"the file is not a notebook: it is not valid JSON ({e})"
        return sub
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as e:  # nbformat raises several kinds for a damaged notebook
        sub.fatal = f"the file is not a readable Jupyter notebook ({type(e).__name__}: {str(e)[:200]})"
        return sub
    if not isinstance(raw, dict) or not isinstance(nb.get("cells"), list):
        sub.fatal = "the file is not a Jupyter notebook (it has no list of cells)"
        return sub
    try:
        nbformat.validate(nb)
    except Exception as e:
        sub.notes.append(f"the notebook does not fully follow the notebook format ({str(e).splitlines()[0][:160]}); "
                         f"it was graded anyway")

    released = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    # the release's own code, recognised by its text (an editor may renumber cell ids)
    released_code = {_source(c).strip() for c in release.cells if c.get("cell_type") == "code"}
    solutions = {g for g, c in released.items() if _meta(c).get("solution")}
    seen = {}
    for index, cell in enumerate(nb.cells):
        if not isinstance(cell, dict):
            continue
        gid, kind, source = _grade_id(cell), cell.get("cell_type"), _source(cell)
        cid = str(cell.get("id") or f"cell-{index:03d}")
        if gid is not None and gid not in released:
            sub.notes.append(f"a cell claims the nbgrader id {gid!r}, which this assignment does not have; "
                             f"it was treated as a cell of your own")
            gid = None
        if gid is None:
            if kind == "code":
                sub.run.append((cid, source))
                if source.strip() not in released_code:
                    sub.own.append((cid, source))
            continue
        seen[gid] = seen.get(gid, 0) + 1
        rc = released[gid]
        if seen[gid] == 2:
            sub.notes.append(f"cell {gid!r} appears more than once; "
                             + ("each copy was run in order, so the last one counts" if gid in solutions
                                else "the released cell is used"))
        changed = [k for k in META_KEYS if _meta(cell).get(k) != _meta(rc).get(k)]
        if changed and seen[gid] == 1:
            sub.notes.append(f"the nbgrader metadata of cell {gid!r} was changed ({', '.join(changed)}); "
                             f"the released metadata is used")
        if gid in solutions:
            if kind != rc.get("cell_type"):
                sub.notes.append(f"cell {gid!r} was changed from {rc.get('cell_type')} to {kind}; it was not run")
                continue
            if kind == "code":
                sub.run.append((gid, source))
                sub.own.append((gid, source))
        elif not _same(source, _source(rc)) and seen[gid] == 1:
            sub.notes.append(f"the read-only cell {gid!r} was edited; the released version is used "
                             f"(read-only cells are never taken from a submission)")
    for gid, rc in released.items():
        if gid not in seen:
            what = "where you write your code" if gid in solutions else "a read-only cell"
            sub.notes.append(f"cell {gid!r} ({what}) was deleted"
                             + ("; its function can only be graded if another cell defines it" if gid in solutions
                                else "; the released version is used"))
    return sub
