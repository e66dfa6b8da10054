"""The rerun key: a recorded result is reused only while nothing that can change its score has changed.

The grader's version, recorded in each result and compared by `grade.is_current`, is the digest of
every source that can change a score (`grader.SCORED`: the checks with their hidden cases, the
references and twins, the data loaders, the grader's own steps). These tests edit a copy of those
sources, never the repository's own files.
"""

import json
import shutil

import pytest

from autograde import examples, grade, grader

A01 = "01-convolution"
ORIGINAL = grader.SCORED


@pytest.fixture
def scored_copy(tmp_path, monkeypatch):
    """A copy of every scored source, which `grader.version()` reads from instead of the repository's."""
    copies = []
    for root, entries in ORIGINAL:
        copy = tmp_path / "sources" / root.name
        for entry in entries:
            if (root / entry).is_dir():
                shutil.copytree(root / entry, copy / entry, ignore=shutil.ignore_patterns("__pycache__"),
                                dirs_exist_ok=True)
            elif (root / entry).exists():
                (copy / entry).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(root / entry, copy / entry)
        copies.append((copy, entries))
    monkeypatch.setattr(grader, "SCORED", tuple(copies))
    grader.version.cache_clear()
    yield tmp_path / "sources"
    grader.version.cache_clear()


def hidden_case_generator(sources):
    """A file of the checks that makes hidden cases."""
    return next(p for p in sorted((sources / "cnnkit" / "checks").rglob("*.py")) if "hidden" in p.read_text())


def test_an_unchanged_copy_has_the_repositorys_version(scored_copy):
    # the digest names each file by its place in its package, wherever the package is
    assert grader.version() == grader.source_digest(ORIGINAL) != grader.source_digest(())


def test_an_edit_to_any_scored_source_changes_the_version(scored_copy):
    unchanged = grader.version()
    for folder, name in [("cnnkit", "checks"), ("cnnkit", "reference"), ("cnnkit", "torch"), ("cnnkit", "data"),
                         ("cnnkit", "_args.py"), ("autograde", "runner.py"), ("autograde", "protocol.py"),
                         ("autograde", "hidden.py"), ("autograde", "static.py"), ("autograde", "sandbox.py"),
                         ("autograde", "confine.py"), ("autograde", "notebook.py"), ("autograde", "grader.py")]:
        path = scored_copy / folder / name
        file = sorted(path.rglob("*.py"))[-1] if path.is_dir() else path
        before = file.read_bytes()
        file.write_bytes(before + b"\n# edited\n")
        assert grader.source_digest() != unchanged, file
        file.write_bytes(before)
    for new in ("checks/new_assignment.py", "grading/hidden_cases.py"):   # a module of the checks to come
        path = scored_copy / "cnnkit" / new
        path.parent.mkdir(exist_ok=True)
        path.write_text("CASES = []\n")
        assert grader.source_digest() != unchanged, new
        path.unlink()
    for drawing in ("plot.py", "benchmark.py"):      # what only draws or times changes no score
        path = scored_copy / "cnnkit" / drawing
        path.write_text(path.read_text() + "\n# edited\n")
    assert grader.source_digest() == unchanged == grader.version()


def test_an_edit_to_a_hidden_case_generator_grades_again(scored_copy, tmp_path):
    root = tmp_path / "course"
    path = root / "submitted" / "ann" / A01 / "convolution.ipynb"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a notebook")       # graded at once (invalid), with no sandbox to wait for
    rels = grade.releases(A01)

    jobs, skipped = grade.plan(root, root / "submitted", rels, {}, [])
    assert len(jobs) == 1 and not skipped
    result = grade.run_job(jobs[0])
    assert result.status == "invalid" and result.grader == grader.version()
    grade.store(root, None, result)
    record = json.loads(grade.result_path(root, "ann", A01, "convolution").read_text())
    assert record["grader"] == grader.version() and grade.verified(record, grade.secret(root))

    _, skipped = grade.plan(root, root / "submitted", rels, {}, [])
    assert [r.student for r in skipped] == ["ann"]          # nothing changed: the record is reused

    generator = hidden_case_generator(scored_copy)
    before = generator.read_bytes()
    generator.write_bytes(before + b"\n# a hidden case drawn differently\n")
    grader.version.cache_clear()
    jobs, skipped = grade.plan(root, root / "submitted", rels, {}, [])
    assert not skipped and [j["student"] for j in jobs] == ["ann"]   # the record is no longer current

    generator.write_bytes(before)
    grader.version.cache_clear()
    _, skipped = grade.plan(root, root / "submitted", rels, {}, [])
    assert [r.student for r in skipped] == ["ann"]          # the same sources again: reused again


def test_a_result_records_the_version_it_was_graded_under():
    job = examples.solved_job(A01, examples.NOTEBOOK, blank=True)
    job["data"] = b"{}"
    result = grader.grade_submission(job)
    assert result.grader == grader.version() and len(result.grader) == 64
    assert result.to_dict()["grader"] == result.grader
