"""A class with attackers in it, graded by the TA's command with the kernel sandbox in force.

Each attacker goes for what the isolation model says is out of reach: a classmate's record, the CSV
and the gradebook, the grading secret, the grader's process, the network, processes that outlive
the job, the disk. The honest students' grades must come out exactly as when they are graded
alone, on the run and on the rerun; no secret may appear anywhere in what the grader writes; no
process may be left behind; every attacker gets no credit for what it faked.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from autograde import confine, examples, grade, sandbox
from classroom import csv_rows, gradebook_scores

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(confine.bwrap_problem()) and not os.environ.get("CI"),
                                 reason=f"no kernel sandbox here: {confine.bwrap_problem()}")]

A01 = "01-convolution"
LIMITS = sandbox.Limits(cell_seconds=10, call_seconds=5, notebook_seconds=90)
MARKER = f"7{time.time_ns() % 10**8}"


def attacker(root):
    """A cell that goes for everything outside its sandbox (written so that it runs to the end)."""
    return f'''
import os, sys, json, socket
root = {str(root)!r}
def attempt(fn):
    try:
        fn()
    except BaseException:
        pass
def overwrite_classmate():
    path = os.path.join(root, "autograded", "ada", "{A01}", "convolution.result.json")
    with open(path, "w") as fh:
        json.dump({{"student": "ada", "score": 0.0}}, fh)
def overwrite_csv():
    os.makedirs(os.path.join(root, "grades"), exist_ok=True)
    with open(os.path.join(root, "grades", "{A01}.csv"), "w") as fh:
        fh.write("student_id,score\\nada,0\\n")
def lock_gradebook():
    import sqlite3
    db = sqlite3.connect(os.path.join(root, "gradebook.db"), timeout=0)
    db.execute("begin exclusive")
def leak_secret():
    print("SECRET", open(os.path.join(root, ".grading-secret")).read())
def leak_environment():
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                print("ENV", open(f"/proc/{{pid}}/environ", "rb").read()[:2000])
            except OSError:
                pass
def send_out():
    socket.create_connection(("127.0.0.1", 22), timeout=1).sendall(b"x")
def daemon():
    if os.fork() == 0:
        os.setsid()
        os.execvp("sleep", ["sleep", "{MARKER}"])
def plant_directory():
    os.makedirs(os.path.join(root, "feedback", "ada", "{A01}", "convolution.html"), exist_ok=True)
for step in (overwrite_classmate, overwrite_csv, lock_gradebook, leak_secret, leak_environment, send_out,
             daemon, plant_directory):
    attempt(step)
'''


def test_the_attacker_cell_is_valid_python(tmp_path):
    compile(attacker(tmp_path), "attacker", "exec")


def hidden_delegate():
    """Correct-looking functions that hand the work to numpy's convolution under a computed name."""
    return {"convolve1d": '''
def convolve1d(x, k):
    name = "con" + "volve"
    return getattr(np, name)(x, k)
'''}


def write(root, student, nb):
    path = root / "submitted" / student / A01 / "convolution.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((json.dumps(nb) + "\n").encode())


def test_attackers_gain_nothing_and_classmates_are_untouched(tmp_path):
    release, solved = examples.release_notebook(), examples.solution_sources()
    classroom = examples.example_class()

    # the honest students graded alone: the grades every later run must reproduce
    alone = tmp_path / "alone"
    for student in ("ada", "linus"):
        (alone / "submitted" / student / A01).mkdir(parents=True)
        (alone / "submitted" / student / A01 / "convolution.ipynb").write_bytes(classroom[student])
    secret = grade.secret(alone)
    grade.grade(A01, root=alone, workers=2, progress=False, limits=LIMITS)
    expected = csv_rows(alone, A01)

    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(alone / ".grading-secret", root / ".grading-secret")
    for student in ("ada", "linus"):
        (root / "submitted" / student / A01).mkdir(parents=True)
        (root / "submitted" / student / A01 / "convolution.ipynb").write_bytes(classroom[student])
    write(root, "eve", examples.fill(release, solved, after={"convolve1d": attacker(root)}))
    write(root, "zed", examples.fill(release, {**solved, **hidden_delegate()}))

    for attempt in range(2):   # the run, and the rerun that trusts what is recorded
        results = grade.grade(A01, root=root, workers=2, progress=False, limits=LIMITS)
        got = csv_rows(root, A01)
        for student in ("ada", "linus"):
            for column in ("score", "max_score", "status", "convolve1d", "correlate1d", "correlate2d",
                           "convolve2d", "conv2d"):
                assert got[student][column] == expected[student][column], (attempt, student, column)
        assert gradebook_scores(root)["ada"] == 12
        assert float(got["eve"]["score"]) == 0 and got["eve"]["status"] == "review"
        # a look-up the static check cannot read is not credited (and the sandbox has no numpy.convolve)
        assert float(got["zed"]["convolve1d"]) == 0 and got["zed"]["review"]
        assert (root / "feedback" / "ada" / A01 / "convolution.html").is_file()
        assert sum(r.score for r in results["ada"]) == 12

    # nothing the grader wrote holds the secret; nothing the attacker started is still running
    for path in root.rglob("*"):
        if path.is_file() and path.name != ".grading-secret":
            assert secret.encode() not in path.read_bytes(), path
    assert not subprocess.run(["pgrep", "-f", f"sleep {MARKER}"], capture_output=True).stdout
