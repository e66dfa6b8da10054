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


# ----------------------------------------------------------------------------- a class

LINUS = examples.LINUS


def make_class(root, students):
    """`students`: {id: notebook bytes}, written in nbgrader's submitted/ layout under `root`."""
    for student, data in students.items():
        path = root / "submitted" / student / A01 / "convolution.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run(root, capsys=None, **kw):
    results = grade.grade(A01, root=root, workers=kw.pop("workers", 2), progress=False,
                          limits=sandbox.Limits(**{**FAST, **kw.pop("limits", {})}), **kw)
    out = capsys.readouterr() if capsys else None
    return results, out


def csv_rows(root):
    with open(root / "grades" / f"{A01}.csv", newline="", encoding="utf-8") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def gradebook_scores(root):
    with sqlite3.connect(root / "gradebook.db") as db:
        return dict(db.execute("select s.student_id, sum(g.auto_score) from grade g "
                               "join submitted_notebook n on g.notebook_id = n.id "
                               "join submitted_assignment s on n.assignment_id = s.id group by s.student_id"))


def record_path(root, student):
    return grade.result_path(root, student, A01, "convolution")


# ----------------------------------------------------------------------------- 1. signed records

def test_a_changed_record_is_detected_and_graded_again(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "linus": solved(LINUS)})
    first, _ = run(root, capsys)
    honest = first["linus"][0]["score"]
    assert first["ada"][0]["score"] == 12 and 0 < honest < 12
    record = json.loads(record_path(root, "linus").read_text())
    assert grade.verified(record, grade.secret(root))

    # linus (or anyone who can write autograded/) gives himself full marks, keeping the hash and seed
    record.update(score=12.0, status="graded")
    for f in record["functions"]:
        f["score"] = f["points"]
    record_path(root, "linus").write_text(json.dumps(record, indent=1))
    again, out = run(root, capsys)
    assert "record for linus (convolution) was changed outside the grader; graded again" in out.out
    assert "1 notebook(s) already graded and unchanged: skipped" in out.out
    assert again["linus"][0]["score"] == honest
    assert csv_rows(root)["linus"]["score"] == f"{honest:g}"
    assert gradebook_scores(root)["linus"] == pytest.approx(honest)
    assert grade.verified(json.loads(record_path(root, "linus").read_text()), grade.secret(root))

    # a signed record moved to another student's folder does not count for him
    shutil.copy(record_path(root, "ada"), record_path(root, "linus"))
    assert grade.class_results(root, A01, [RELEASE], ["linus"]) == {"linus": []}
    third, out = run(root, capsys)
    assert "record for linus" in out.out and third["linus"][0]["score"] == honest


def test_a_failure_of_the_grader_is_graded_again(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved()})
    run(root, capsys)
    key = grade.secret(root)
    record = json.loads(record_path(root, "ada").read_text())
    record.update(status="error", score=0.0, reason="the grader failed on this submission (OSError: ...)")
    record_path(root, "ada").write_text(json.dumps(grade.signed(record, key)))
    again, out = run(root, capsys)
    assert "already graded" not in out.out and "the grader failed on it last time; graded again" in out.out
    assert again["ada"][0]["status"] == "graded" and again["ada"][0]["score"] == 12
