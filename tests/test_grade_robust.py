"""The grade command as a security boundary: records a student cannot forge, and one student (or one
broken file, worker or gradebook) never stops the class.

Every test grades at most a few submissions of assignment 01 under short limits; those that grade a
class through the command's own steps (a process pool, a gradebook) are marked slow.
"""

import json
import os
import shutil
import sqlite3

import pytest

from classroom import csv_rows, gradebook_scores
from autograde import examples, grade, gradebook, grader, notebook, sandbox

REPO = grade.REPO
A01 = "01-convolution"
RELEASE = notebook.Release.load(REPO / "course" / A01 / "convolution.ipynb")
FAST = {"cell_seconds": 10, "call_seconds": 5, "notebook_seconds": 60}   # generous: the machine may be busy


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
    assert r.status == "graded" and r.score == r.max_score == 12, r
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


def record_path(root, student):
    return grade.result_path(root, student, A01, "convolution")


# ----------------------------------------------------------------------------- 1. signed records

@pytest.mark.slow
def test_a_changed_record_is_detected_and_graded_again(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "linus": solved(LINUS)})
    first, _ = run(root, capsys)
    honest = first["linus"][0].score
    assert first["ada"][0].score == 12 and 0 < honest < 12
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
    assert again["linus"][0].score == honest
    assert csv_rows(root, A01)["linus"]["score"] == f"{honest:g}"
    assert gradebook_scores(root)["linus"] == pytest.approx(honest)
    assert grade.verified(json.loads(record_path(root, "linus").read_text()), grade.secret(root))

    # a signed record moved to another student's folder does not count for him
    shutil.copy(record_path(root, "ada"), record_path(root, "linus"))
    assert grade.class_results(root, A01, [RELEASE], ["linus"]) == {"linus": []}
    third, out = run(root, capsys)
    assert "record for linus" in out.out and third["linus"][0].score == honest


@pytest.mark.slow
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
    assert again["ada"][0].status == "graded" and again["ada"][0].score == 12



def test_a_signature_covers_every_field_and_only_its_key_makes_it():
    record = grade.signed({"student": "ann", "score": 3.5, "functions": [{"name": "f", "score": 3.5}]}, "key")
    assert grade.verified(record, "key") and not grade.verified(record, "another key")
    nested = json.loads(json.dumps(record))
    nested["functions"][0]["score"] = 4
    assert not grade.verified(nested, "key")
    for forged in ({**record, "signature": "\u00e9" * 64}, {**record, "signature": None},
                   {k: v for k, v in record.items() if k != "signature"}, [record], "text"):
        assert not grade.verified(forged, "key")
    # what JSON gives back verifies as written: the signature does not depend on indentation or key order
    assert grade.verified(json.loads(json.dumps(record, indent=3, sort_keys=False)), "key")


def test_a_malformed_result_is_an_error_of_its_own_job_only():
    j = {"student": "ann", "data": b"", "release": RELEASE.to_dict(), "seed": 1, "release_digest": "d",
         "sandbox": "python", "missing": True}
    good = grade.run_job(j)
    assert grade.checked(good, j) == good and good.status == "missing"
    good = good.to_dict()      # what a worker could send back instead
    assert grade.checked({**good, "student": "bob", "notebook": "other"}, j).student == "ann"
    for bad in ("text", None, {**good, "functions": [{"name": 1}]}, {**good, "score": "12"}):
        r = grade.checked(bad, j)
        assert r.status == "error" and r.student == "ann" and r.score == 0
    r = grade.checked({**good, "review": [1, b"x"], "notes": None}, j)
    assert r.review == ["1", "b'x'"] and r.notes == []

# ----------------------------------------------------------------------------- 2. one student never stops the class

@pytest.mark.slow
def test_a_folder_planted_at_a_feedback_page_costs_only_that_page(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "linus": solved(LINUS)})
    (root / "feedback" / "linus" / A01 / "convolution.html").mkdir(parents=True)
    results, out = run(root, capsys)
    assert "linus (convolution): the feedback page could not be written (IsADirectoryError" in out.out
    rows = csv_rows(root, A01)
    assert rows["ada"]["score"] == "12" and 0 < float(rows["linus"]["score"]) < 12
    assert "the feedback page could not be written" in rows["linus"]["review"]
    scores = gradebook_scores(root)
    assert scores["ada"] == 12 and scores["linus"] == pytest.approx(float(rows["linus"]["score"]))
    assert (root / "autograded" / "linus" / A01 / "convolution.ipynb").is_file()
    record = json.loads(record_path(root, "linus").read_text())
    assert record["unsaved"] == ["the feedback page"] and grade.verified(record, grade.secret(root))

    # the next run grades linus again (his page is still missing), not ada
    shutil.rmtree(root / "feedback" / "linus")
    again, out = run(root, capsys)
    assert "1 notebook(s) already graded and unchanged: skipped" in out.out
    assert (root / "feedback" / "linus" / A01 / "convolution.html").is_file()
    assert "unsaved" not in json.loads(record_path(root, "linus").read_text())


@pytest.mark.slow
def test_a_locked_gradebook_does_not_stop_the_run(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "linus": solved(LINUS)})
    gradebook.open_gradebook(f"sqlite:///{root / 'gradebook.db'}").close()
    holder = sqlite3.connect(root / "gradebook.db", isolation_level=None)
    holder.execute("begin exclusive")      # someone else holds the gradebook
    try:
        results, out = run(root, capsys)
    finally:
        holder.execute("rollback")
        holder.close()
    assert "GRADEBOOK NOT WRITTEN" in out.out and "GRADEBOOK NOT WRITTEN" in out.err
    rows = csv_rows(root, A01)
    assert rows["ada"]["score"] == "12" and 0 < float(rows["linus"]["score"]) < 12
    assert gradebook_scores(root) == {}
    # once it is free, the same command records everyone there
    again, out = run(root, capsys)
    assert "GRADEBOOK NOT WRITTEN" not in out.out
    assert again["linus"][0].score == float(rows["linus"]["score"]), again["linus"]
    assert gradebook_scores(root) == {"ada": 12, "linus": pytest.approx(float(rows["linus"]["score"]))}


@pytest.mark.slow
def test_a_damaged_gradebook_does_not_stop_the_run(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved()})
    (root / "gradebook.db").write_bytes(b"this is not a database" * 100)
    results, out = run(root, capsys)
    assert "GRADEBOOK NOT WRITTEN" in out.out and csv_rows(root, A01)["ada"]["score"] == "12"


@pytest.mark.slow
def test_lone_surrogates_in_errors_markdown_and_student_ids_are_stored_safely(tmp_path, capsys):
    root = tmp_path / "course"
    nb = examples.fill(examples.release_notebook(), examples.solution_sources(),
                       after={"conv2d": 'raise ValueError("a bad byte: \\udcff")'})
    nb["cells"].append({"cell_type": "markdown", "id": "own-\udcfe", "metadata": {}, "source": "caf\udcff \x00 \x1b[2J"})
    eve = json.dumps(nb).encode()      # ASCII: the surrogates are JSON escapes
    make_class(root, {"ada": solved(), "eve": eve})
    odd = os.fsencode(root / "submitted") + b"/caf\xff"     # a folder name that is not UTF-8
    os.makedirs(odd + b"/" + A01.encode())
    with open(odd + b"/" + A01.encode() + b"/convolution.ipynb", "wb") as f:
        f.write(solved())
    results, out = run(root, capsys, workers=3)
    odd_id = next(s for s in results if s.startswith("caf"))
    assert "\ufffd" in odd_id and not any("\udcff" in s for s in results)
    assert results["eve"][0].score == 12 and results[odd_id][0].score == 12
    assert any("\ufffd" in e.error for e in results["eve"][0].cell_errors)
    rows = csv_rows(root, A01)
    assert rows["ada"]["score"] == rows["eve"]["score"] == rows[odd_id]["score"] == "12"
    assert gradebook_scores(root) == {"ada": 12, "eve": 12, odd_id: 12}
    page = (root / "feedback" / "eve" / A01 / "convolution.html").read_text(encoding="utf-8")
    assert "a bad byte: \ufffd" in page
    shown = (root / "autograded" / "eve" / A01 / "convolution.ipynb").read_text(encoding="utf-8")
    assert "caf\ufffd" in shown
    assert (root / "feedback" / odd_id / A01 / "convolution.html").is_file()
    assert "\x1b" not in out.out


def test_what_is_kept_of_a_result_is_bounded_and_safe():
    big = {"student": "s\udcff", "notes": ["n\udcff" * 10] * 10_000, "log": "x" * 100_000 + "end",
           "functions": [{"name": "f", "messages": ["m" * 50_000], "score": 1}], "nested": [[[[[[[[[[[[[[1]]]]]]]]]]]]]]}
    kept = grade.clean(big)
    assert kept["student"] == "s\ufffd"
    assert len(kept["notes"]) == grade.MAX_ITEMS + 1 and "more not kept" in kept["notes"][-1]
    assert len(kept["log"]) < grade.MAX_TEXT + 100 and kept["log"].endswith("end")
    assert len(kept["functions"][0]["messages"][0]) < grade.MAX_TEXT + 100
    text = json.dumps(kept, ensure_ascii=False)
    text.encode("utf-8")
    assert len(text) < 1_000_000


@pytest.mark.slow
def test_an_interrupted_run_still_writes_its_csv(tmp_path, capsys, monkeypatch):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "linus": solved(LINUS)})
    real = grade.store

    def interrupted(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt        # Ctrl-C after the first result is stored

    monkeypatch.setattr(grade, "store", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(root)
    rows = csv_rows(root, A01)
    assert sorted(rows) == ["ada", "linus"]
    assert sorted(r["status"] for r in rows.values())[1] == "pending"
    assert any(r["status"] != "pending" and float(r["score"]) > 0 for r in rows.values())


# ----------------------------------------------------------------------------- 3. pools and workers

# what a worker runs instead of grade.run_job (module-level: a spawned worker imports this module)

def dies_for_bob(job):
    if job["student"] == "bob":
        os._exit(3)                    # the worker process dies in the middle of the job
    return grade.run_job(job)


def hangs_for_bob(job):
    if job["student"] == "bob":
        import time
        time.sleep(3600)
    return grade.run_job(job)


def raises_for_bob(job):
    if job["student"] == "bob":
        raise RuntimeError("the worker lost its way")
    return grade.run_job(job)


@pytest.mark.slow
def test_a_worker_that_dies_costs_only_its_own_job(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "bob": solved(), "linus": solved(LINUS)})
    results, out = run(root, capsys, work=dies_for_bob)
    assert results["bob"][0].status == "failed" and results["bob"][0].reason == grade.WORKER_DIED
    rows = csv_rows(root, A01)
    assert rows["ada"]["score"] == "12" and 0 < float(rows["linus"]["score"]) < 12
    assert rows["bob"]["status"] == "failed" and rows["bob"]["score"] == "0"
    assert gradebook_scores(root) == {"ada": 12, "bob": 0, "linus": pytest.approx(float(rows["linus"]["score"]))}


@pytest.mark.slow
def test_a_job_that_never_finishes_is_timed_out(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(grade, "DEADLINE_MARGIN", 2.0)
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "bob": solved()})
    results, out = run(root, capsys, work=hangs_for_bob, limits={"notebook_seconds": 12})
    bob = results["bob"][0]
    assert bob.status == "error" and bob.reason.startswith("timed out: grading did not finish within 15 s")
    assert results["ada"][0].score == 12 and csv_rows(root, A01)["ada"]["score"] == "12"


@pytest.mark.slow
def test_a_dask_task_that_fails_costs_only_its_own_job(tmp_path):
    distributed = pytest.importorskip("distributed")
    root = tmp_path / "course"
    make_class(root, {"ada": solved(), "bob": solved()})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        results, _ = run(root, scheduler=cluster.scheduler_address, work=raises_for_bob)
    bob = results["bob"][0]
    assert bob.status == "error" and "RuntimeError: the worker lost its way" in bob.reason
    assert results["ada"][0].score == 12 and csv_rows(root, A01)["bob"]["status"] == "error"


# ----------------------------------------------------------------------------- 6. the isolation in force

@pytest.mark.slow
def test_the_isolation_in_force_is_said_recorded_and_part_of_the_rerun_key(tmp_path, capsys):
    root = tmp_path / "course"
    make_class(root, {"ada": solved()})
    results, out = run(root, capsys, sandbox="python")
    python = sandbox.isolation("python")
    assert f"isolation in force: python: {python.detail}" in out.out
    for stream in (out.out, out.err):
        assert "WARNING: WEAK ISOLATION on this run (--sandbox python)" in stream
    assert csv_rows(root, A01)["ada"]["isolation"] == "python" and results["ada"][0].score == 12
    assert json.loads(record_path(root, "ada").read_text())["sandbox"] == "python"

    _, out = run(root, capsys, sandbox="python")
    assert "1 notebook(s) already graded and unchanged: skipped" in out.out
    strongest = sandbox.isolation("auto")
    if strongest.name != "python":      # graded under another isolation: graded again
        again, out = run(root, capsys, sandbox="auto")
        assert "already graded" not in out.out and f"isolation in force: {strongest.name}" in out.out
        assert csv_rows(root, A01)["ada"]["isolation"] == strongest.name
        assert ("WARNING: WEAK ISOLATION" in out.err) == strongest.weak


def test_an_isolation_this_machine_lacks_ends_the_command_with_status_2(tmp_path, capsys, monkeypatch):
    from autograde.__main__ import main

    def unavailable(mode="auto"):
        raise sandbox.SandboxUnavailable("bubblewrap is not installed")

    monkeypatch.setattr(grade._sandbox, "isolation", unavailable)
    make_class(tmp_path, {"ada": solved()})
    assert main(["grade", A01, "--root", str(tmp_path), "--sandbox", "bwrap", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--sandbox bwrap is not available on this machine: bubblewrap is not installed" in err
    assert not (tmp_path / "grades").exists()
    with pytest.raises(SystemExit):
        main(["grade", A01, "--sandbox", "chroot"])


def test_a_submission_that_is_a_link_is_not_followed(tmp_path):
    root = tmp_path / "course"
    secret = grade.secret(root)
    (root / "submitted" / "ada" / A01).mkdir(parents=True)
    (root / "submitted" / "ada" / A01 / "convolution.ipynb").symlink_to(root / ".grading-secret")
    rels = grade.releases(A01)
    jobs, _ = grade.plan(root, root / "submitted", rels, {}, [])
    assert jobs[0]["data"] == b"" and "link" in jobs[0]["problem"]
    assert secret.encode() not in jobs[0]["data"]
