"""The grade command as a security boundary: records a student cannot forge, and one student (or one
broken file, worker or gradebook) never stops the class.

Every test grades at most a few submissions of assignment 01 under short limits.
"""

import csv
import json
import os
import shutil
import sqlite3
import sys

import pytest

from autograde import examples, grade, gradebook, grader, notebook, sandbox

REPO = grade.REPO
A01 = "01-convolution"
RELEASE = notebook.Release.load(REPO / "course" / A01 / "convolution.ipynb")
FAST = {"cell_seconds": 3, "call_seconds": 2, "notebook_seconds": 60}


def solved(sources=None):
    nb = examples.fill(examples.release_notebook(), {**examples.solution_sources(), **(sources or {})})
    return json.dumps(nb).encode()


def job(data, student="s"):
    return {"student": student, "data": data, "release": RELEASE.to_dict(), "seed": 11, "limits": FAST,
            "protected": [str(REPO / "solutions"), str(REPO / "autograde")]}


# ----------------------------------------------------------------------------- reading notebooks

def test_a_notebook_with_a_byte_order_mark_is_graded_normally():
    data = b"\xef\xbb\xbf" + solved()
    assert not notebook.read(data, RELEASE).fatal
    r = grader.grade_submission(job(data))
    assert r["status"] == "graded" and r["score"] == r["max_score"] == 12, r
    shown = json.loads(gradebook.formgrader_notebook(data, RELEASE))
    assert any("def convolve1d" in "".join(c["source"]) and "np.zeros" in "".join(c["source"])
               for c in shown["cells"])


# ----------------------------------------------------------------------------- the gradebook

def test_a_new_gradebook_is_made_when_alembic_is_not_on_path(tmp_path, monkeypatch):
    # python -m autograde started through a virtual environment's python, not activated
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    assert shutil.which("alembic") is None
    gb = gradebook.open_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    gb.close()
    assert os.environ["PATH"] == str(bare)
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("select version_num from alembic_version").fetchone()[0]
