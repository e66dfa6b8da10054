"""The grading command: honest, wrong, attacking and faulty submissions, each with the score it must get.

Submissions are the released notebook of assignment 01 with cells filled in or added
(`autograde.examples.fill`), graded by the same code the TA's command runs.
"""

import csv
import io
import json
import os
import sqlite3
import zipfile

import numpy as np
import pytest

from autograde import examples, grade, grader, notebook, sandbox, static, submissions
from conftest import REPO

A01 = "01-convolution"
RELEASE = notebook.Release.load(REPO / "course" / A01 / "convolution.ipynb")
SOLVED = examples.solution_sources()
FAST = {"cell_seconds": 3, "call_seconds": 2, "notebook_seconds": 60}


def submit(sources=None, after=None, limits=FAST, data=None, student="s"):
    """Grade one submission made from the release; returns its SubmissionResult."""
    if data is None:
        nb = examples.fill(examples.release_notebook(), {**SOLVED, **(sources or {})}, after=after)
        data = json.dumps(nb).encode()
    job = {"student": student, "data": data, "release": RELEASE.to_dict(), "seed": 11, "limits": limits,
           "protected": [str(REPO / "solutions"), str(REPO / "autograde")]}
    return grader.grade_submission(job)


def scores(result):
    return {f.name: f.score for f in result.functions}


def function(result, name):
    return next(f for f in result.functions if f.name == name)


# ----------------------------------------------------------------------------- honest and wrong

@pytest.mark.slow
def test_the_solutions_and_a_different_correct_version_get_full_marks():
    for sources in ({}, examples.GRACE):
        r = submit(sources)
        assert r.status == "graded" and r.score == r.max_score == 12, r
        assert not r.review and not r.cell_errors


@pytest.mark.slow
def test_the_blank_release_scores_zero_without_a_fault():
    r = submit(data=(REPO / "course" / A01 / "convolution.ipynb").read_bytes())
    assert r.status == "graded" and r.score == 0
    assert all("NotImplementedError" in f.messages[0] for f in r.functions)


@pytest.mark.slow
def test_common_mistakes_lose_their_points_and_are_named():
    r = submit(examples.LINUS)
    s = scores(r)
    assert s["convolve1d"] == s["correlate2d"] == s["convolve2d"] == 2
    assert 0 < s["correlate1d"] < 2 and 0 < s["conv2d"] < 4   # right on the cases the mistake cannot show
    assert "flipped_kernel" in function(r, "correlate1d").diagnoses
    assert "bias_missing" in function(r, "conv2d").diagnoses
    assert "likely mistake [bias_missing]" in function(r, "conv2d").messages[0]


# ----------------------------------------------------------------------------- forbidden implementations

@pytest.mark.slow
def test_forbidden_implementations_get_no_credit_and_are_listed_for_review():
    r = submit(examples.MALLORY)
    s = scores(r)
    assert s["convolve1d"] == 0 and s["correlate2d"] == 0
    assert s["convolve2d"] == 0          # it calls the student's correlate2d, which uses scipy.signal
    assert s["correlate1d"] == 2 and s["conv2d"] == 4
    text = " ".join(r.review)
    assert "numpy.convolve" in text and "scipy.signal" in text


@pytest.mark.slow
def test_a_hidden_alias_is_caught_while_the_function_runs():
    # the alias is made in a way the source check cannot follow; the profiler sees the call
    r = submit({"convolve1d": "_impl = [np.convolve][0]\n\ndef convolve1d(x, k):\n    return _impl(x, k) * 1.0\n"})
    f = function(r, "convolve1d")
    assert f.score == 0 and any("while it ran" in x for x in f.forbidden)


def test_static_check_resolves_imports_aliases_and_helpers():
    cells = [("a", "import numpy as np\nfrom scipy import signal\nfrom cnnkit import reference as R\n"),
             ("b", "conv = np.convolve\ndef helper(x, k):\n    return conv(x, k)\n"),
             ("c", "def f(x, k):\n    return helper(x, k)\n"),
             ("d", "def g(x, k):\n    return signal.correlate2d(x, k)\n"),
             ("e", "def h(x, w):\n    return R.conv2d(x, w)\n"),
             ("f", "def ok(x, k):\n    return np.einsum('i,i', x, k)\n"),
             ("g", "def dyn(x, k):\n    return getattr(np, 'con' + 'volve')(x, k)\n"),
             # a figure's `s` and `y` in the notebook are not the functions' own `s` and `y`...
             ("h", "s = R.sigmoid(np.ones(3))\ny = signal\n"),
             ("i", "def mine(z, y=None):\n    s = 1 / (1 + np.exp(-z))\n    return s * (1 - s) + s.max()\n"),
             # ...but what a function binds its own names to is checked, imports inside it included
             ("j", "def local_alias(x, k):\n    s = np.convolve\n    return s(x, k)\n"),
             ("k", "def local_import(x, k):\n    import scipy.signal as sg\n    return sg.correlate(x, k)\n"),
             ("l", "def declared(x):\n    global s\n    return s\n"),
             ("m", "from scipy.linalg import toeplitz as tp\ndef toe(k, n):\n    return tp(k, n)\n")]
    forbidden = grader.FORBIDDEN["default"]
    found = static.forbidden_uses(cells, ("f", "g", "h", "ok", "dyn", "mine", "local_alias", "local_import",
                                          "declared", "toe"), forbidden)
    assert any("scipy.linalg.toeplitz" in x.what for x in found["toe"])
    assert found["mine"] == []
    assert any("numpy.convolve" in x.what for x in found["local_alias"])
    assert any("scipy.signal.correlate" in x.what for x in found["local_import"])
    assert any("cnnkit.reference.sigmoid" in x.what for x in found["declared"])
    assert any("numpy.convolve" in x.what for x in found["f"])
    assert [x.what for x in found["g"]] == ["g uses scipy.signal.correlate2d"]
    assert any("cnnkit.reference.conv2d" in x.what for x in found["h"])
    assert found["ok"] == []
    assert "cannot be checked" in found["dyn"][0].what


def test_tampering_finds_the_machinery_of_a_fake_grade():
    bad = {"import sys\nsys.modules['cnnkit.checks'].check = print": "sys.modules",
           "import os\nos.write(3, b'forged')": "uses os.write",
           "from os import dup2": "imports os.dup2",
           "import gc\ngc.get_referrers(np)": "imports gc",
           "np.allclose = lambda *a, **k: True": "changes the module numpy",
           "get_ipython().ast_transformers.append(None)": "calls get_ipython()",
           "class A:\n    def __del__(self):\n        pass": "defines __del__",
           "f = lambda: 0\nf.__code__ = (lambda: 1).__code__": "uses .__code__",
           "open('/etc/passwd').read()": "calls open()",
           "!ls": "shell", "exec('1')": "calls exec()"}
    for source, what in bad.items():
        found = static.tampering([("setup", "import numpy as np"), ("x", source)])
        assert any(what in f.what for f in found), (source, found)
    fine = ("%timeit sum(range(3))\nclass Layer:\n    def __init__(self):\n        setattr(self, 'w', 1)\n"
            "import os, sys, math, warnings\nfrom cnnkit.checks import for_assignment\n"
            "print(os.path.join('a', 'b'), sys.float_info.eps, type(Layer()).__name__, Layer().__class__)\n")
    assert static.tampering([("setup", "import numpy as np"), ("x", fine), ("y", "%%time\nz = 1\n")]) == []


@pytest.mark.slow
def test_honest_habits_cost_nothing_warnings_lists_input_and_timing():
    honest = {
        # a warning on the way to a right answer
        "conv2d": examples.GRACE["conv2d"].replace("    if b is not None:",
                                                   "    np.log(np.zeros(1))   # RuntimeWarning: divide by zero\n"
                                                   "    import warnings\n    warnings.warn('just saying')\n"
                                                   "    if b is not None:"),
        # a plain Python list of numbers is the array it spells
        "correlate1d": "def correlate1d(x, k):\n    m = len(k)\n"
                       "    return [float(np.dot(x[i:i + m], k)) for i in range(len(x) - m + 1)]\n",
        "convolve2d": "%%time\ndef convolve2d(x, k):\n    return correlate2d(x, np.asarray(k)[::-1, ::-1])\n",
    }
    r = submit(honest, after={"convolve1d": "answer = input('press enter')\n"})
    s = scores(r)
    assert s["conv2d"] == 4 and s["convolve2d"] == 2 and r.status == "graded" and not r.review
    assert 0 < s["correlate1d"] < 2   # right on float64 cases, a float64 list for float32 inputs
    assert "wrong_dtype" in function(r, "correlate1d").diagnoses
    assert any("EOFError" in c.error for c in r.cell_errors)


# ----------------------------------------------------------------------------- attacks

@pytest.mark.slow
def test_patching_the_checks_and_numpy_gains_nothing():
    r = submit({}, after={"convolve1d": examples.TRUDY_CELL})
    assert r.status == "review" and r.score == 0
    assert r.would_score == 12   # the functions themselves are right: a person decides
    assert "no credit" in r.reason


@pytest.mark.slow
def test_a_lying_return_value_or_an_early_exit_earns_nothing():
    liar = '''
class Anything:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no")

def convolve1d(x, k):
    return Anything()
'''
    leave = "def correlate1d(x, k):\n    raise SystemExit(0)\n"
    r = submit({"convolve1d": liar, "correlate1d": leave})
    assert function(r, "convolve1d").score == 0 and function(r, "correlate1d").score == 0
    assert scores(r)["conv2d"] == 4 and r.status == "graded"


@pytest.mark.slow
def test_reading_the_instructor_files_or_writing_elsewhere_is_refused():
    sneaky = f'''
try:
    hidden = np.loadtxt("{REPO / 'solutions' / A01 / 'convolution.py'}", dtype=str, delimiter="\\n")
except Exception as e:
    hidden = repr(e)
np.save("{REPO / 'autograde' / 'planted.npy'}", np.zeros(1))
'''
    r = submit({}, after={"conv2d": sneaky})
    assert not (REPO / "autograde" / "planted.npy").exists()
    assert any("not allowed while grading" in b for b in r.review)
    assert r.score == 12   # refused, not punished: the functions are graded as they are


# ----------------------------------------------------------------------------- faults

@pytest.mark.slow
def test_a_runaway_function_loses_only_its_own_points():
    r = submit(examples.OSCAR, after={"conv2d": examples.OSCAR_CELL})
    s = scores(r)
    assert s["correlate1d"] == 0 and sum(s.values()) == 10
    assert "time limit" in function(r, "correlate1d").messages[0]
    assert r.cell_errors   # the crashing scratch cell is reported


@pytest.mark.slow
def test_a_hanging_cell_a_memory_hog_and_a_flood_of_output_do_not_stop_grading():
    after = {"convolve1d": "while True:\n    pass\n",
             "correlate1d": "hog = np.ones((1 << 40,), dtype=np.uint8)\n",
             "correlate2d": "for _ in range(10 ** 5):\n    print('x' * 1000)\n"}
    r = submit({}, after=after, limits={**FAST, "file_bytes": 1 << 20})
    assert r.score == 12
    errors = " ".join(c.error for c in r.cell_errors)
    assert "time limit" in errors and "MemoryError" in errors


@pytest.mark.slow
def test_a_process_that_dies_leaves_nothing_running_and_a_reason():
    program = {"cells": [{"id": "a", "source": "def f(x):\n    return x\n"},
                         {"id": "b", "source": "import os\nos._exit(3)"}],
               "graded": ["f"], "preload": ["numpy"], "protected": [],
               "forbidden": grader.RUNTIME["default"]}
    out = sandbox.run(program, {"f": [((np.ones(2),), {}, None, (), None)]}, sandbox.Limits(cell_seconds=5, notebook_seconds=30))
    assert "stopped while running its cells" in out.problem or "exit" in out.problem
    assert out.results.get("f") is None or out.results["f"] == [None]
    with pytest.raises(ProcessLookupError):
        os.killpg(out.pid, 0)


@pytest.mark.parametrize("damage, reason", [
    (lambda b: b[: len(b) // 3], "not valid JSON"),
    (lambda b: b"\xff\xfe" + b, "not valid JSON"),
    (lambda b: b"[1, 2, 3]", "not a"),
    (lambda b: b"", "not valid JSON"),
])
def test_a_damaged_file_gets_a_clear_reason(damage, reason):
    good = json.dumps(examples.fill(examples.release_notebook(), SOLVED)).encode()
    r = submit(data=damage(good))
    assert r.status == "invalid" and r.score == 0 and reason in r.reason


def test_edited_deleted_and_duplicated_cells_are_noted_and_graded_from_the_release():
    nb = examples.fill(examples.release_notebook(), SOLVED)
    cells = nb["cells"]
    test = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "conv2d_test")
    test["source"] = "pass\n"
    test["metadata"]["nbgrader"]["points"] = 100
    cells.remove(next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "convolve1d_check"))
    dup = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "correlate1d")
    cells.insert(cells.index(dup) + 1, json.loads(json.dumps(dup)))
    sub = notebook.read(json.dumps(nb).encode(), RELEASE)
    text = " ".join(sub.notes)
    assert "'conv2d_test' was edited" in text and "metadata of cell 'conv2d_test'" in text
    assert "'convolve1d_check'" in text and "deleted" in text
    assert "'correlate1d' appears more than once" in text
    assert "pass\n" not in [src for _, src in sub.run]       # read-only cells are never run
    assert [cid for cid, _ in sub.run].count("correlate1d") == 2


# ----------------------------------------------------------------------------- the command

def test_import_reads_folders_and_lms_zips(tmp_path):
    nb = json.dumps(examples.release_notebook()).encode()
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "ann.ipynb").write_bytes(nb)
    (folder / "bo b").mkdir()
    (folder / "bo b" / "whatever.ipynb").write_bytes(nb)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("work/convolution.ipynb", nb)
    (folder / "cy.zip").write_bytes(inner.getvalue())
    (folder / "dee.zip").write_bytes(b"not a zip")
    written, problems = submissions.import_submissions(folder, tmp_path / "submitted", A01, ["convolution"])
    assert sorted(written) == ["ann", "bo_b", "cy"]
    assert (tmp_path / "submitted" / "cy" / A01 / "convolution.ipynb").read_bytes() == nb
    assert problems == ["dee.zip: no notebook found"]

    export = tmp_path / "lms.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("ann.zip", inner.getvalue())
        z.writestr("eve.ipynb", nb)
    written, problems = submissions.import_submissions(export, tmp_path / "sub2", A01, ["convolution"])
    assert sorted(written) == ["ann", "eve"] and not problems


@pytest.mark.slow
def test_grading_a_class_writes_gradebook_csv_and_feedback_and_skips_what_is_done(tmp_path, capsys):
    root = tmp_path / "course"
    examples.write_class(root / "submitted")
    results = grade.grade(A01, root=root, workers=2, progress=False,
                          limits=sandbox.Limits(cell_seconds=5, call_seconds=2, notebook_seconds=60))
    expected = {"ada": 12, "grace": 12, "linus": None, "ken": 0, "mallory": 6, "trudy": 0, "oscar": 10}
    for student, score in expected.items():
        total = sum(r.score for r in results[student])
        assert (0 < total < 12) if score is None else total == score, (student, total)

    rows = {r["student_id"]: r for r in csv.DictReader(open(root / "grades" / f"{A01}.csv"))}
    assert set(rows) == set(expected)
    assert rows["ada"]["score"] == "12" and rows["ada"]["max_score"] == "12" and rows["ada"]["assignment"] == A01
    assert rows["ken"]["status"] == "invalid" and "JSON" in rows["ken"]["reason"]
    assert rows["trudy"]["status"] == "review" and rows["mallory"]["review"]

    with sqlite3.connect(root / "gradebook.db") as db:
        got = dict(db.execute("select s.student_id, sum(g.auto_score) from grade g "
                              "join submitted_notebook n on g.notebook_id = n.id "
                              "join submitted_assignment s on n.assignment_id = s.id group by s.student_id"))
    assert got["ada"] == 12 and got["mallory"] == 6 and got["ken"] == 0

    page = (root / "feedback" / "linus" / A01 / "convolution.html").read_text()
    assert "flipped_kernel" in page and "bias_missing" in page
    for student in expected:
        text = (root / "feedback" / student / A01 / "convolution.html").read_text()
        assert "hidden=True" not in text and "BEGIN HIDDEN" not in text and "seed" not in text

    out = capsys.readouterr().out
    assert "ada" in out and "For a person to look at" in out

    again = grade.grade(A01, root=root, workers=2, progress=False)
    assert "7 notebook(s) already graded and unchanged: skipped" in capsys.readouterr().out
    assert {s: sum(r.score for r in rs) for s, rs in again.items()} == \
           {s: sum(r.score for r in rs) for s, rs in results.items()}


@pytest.mark.slow
def test_dask_scheduler_grades_into_the_same_gradebook(tmp_path):
    distributed = pytest.importorskip("distributed")
    root = tmp_path / "course"
    classroom = examples.example_class()
    for student in ("ada", "linus"):
        path = root / "submitted" / student / A01 / "convolution.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(classroom[student])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        results = grade.grade(A01, root=root, scheduler=cluster.scheduler_address, progress=False,
                              limits=sandbox.Limits(cell_seconds=5, call_seconds=2, notebook_seconds=60))
    assert sum(r.score for r in results["ada"]) == 12
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 2


def test_hidden_cases_depend_on_a_secret_and_the_student(tmp_path):
    key = grade.secret(tmp_path)
    assert oct((tmp_path / ".grading-secret").stat().st_mode)[-3:] == "600"
    assert grade.secret(tmp_path) == key
    a, b = grader.student_seed(key, A01, "ann"), grader.student_seed(key, A01, "bob")
    assert a != b and a == grader.student_seed(key, A01, "ann") and a != grader.student_seed("other", A01, "ann")


@pytest.mark.slow
def test_the_main_job_builds_the_course_and_grades_the_example_class(tmp_path, capsys):
    from autograde import demo

    assert demo.main(tmp_path / "class", jobs=2, course=tmp_path / "course", nbgrader_root=tmp_path / "nbgrader") == 0
    out = capsys.readouterr().out
    assert "ada" in out and "12 / 12" in out and "For a person to look at" in out
    assert (tmp_path / "class" / "grades" / f"{A01}.csv").exists()
    assert (tmp_path / "class" / "feedback" / "linus" / A01 / "convolution.html").exists()
    built = tmp_path / "course" / A01 / "convolution.ipynb"
    assert built.read_bytes() == (REPO / "course" / A01 / "convolution.ipynb").read_bytes()
