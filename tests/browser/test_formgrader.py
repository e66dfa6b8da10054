"""A teaching assistant's view of a class graded by the project's command: nbgrader's formgrader in
JupyterLab lists the assignment, the submissions with their scores and each graded notebook with its
points and comments, and a student's feedback page opens in JupyterLab.

The class (three students of the example class: full marks, two typical mistakes, a damaged file) is
graded with ``python -m autograde grade`` into a course root of its own, and JupyterLab is started on
that root the way ``make formgrader`` does.
"""

import json
import re
import subprocess
import sys

import pytest
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograde import examples, gradebook
from autograde.notebook import Release

from .lab import REPO, JupyterLab

A01 = examples.ASSIGNMENT
STUDENTS = {"ada": "12 / 12", "linus": "7.87 / 12", "ken": "0 / 12"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course root of a class of three, graded by the project's command."""
    root = tmp_path_factory.mktemp("class") / "course"
    classroom = examples.example_class()
    for student in STUDENTS:
        path = root / "submitted" / student / A01 / f"{examples.NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(classroom[student])
    run = subprocess.run([sys.executable, "-m", "autograde", "grade", A01, "--root", str(root), "--quiet"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return root


def formgrader_args(root):
    """What `make formgrader ROOT=...` gives JupyterLab: nbgrader's course root and the course's id."""
    return [f"--CourseDirectory.root={root}", "--CourseDirectory.course_id=cnn-course"]


@pytest.fixture(scope="module")
def lab(graded):
    with JupyterLab(graded, graded.parent / "home", cwd=graded, args=formgrader_args(graded)) as server:
        yield server


# ----------------------------------------------------------------------------- what the formgrader reads

def nbgrader_api(root):
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "cnn-course"
    return NbGraderAPI(CourseDirectory(config=config), config=config)


@pytest.mark.slow
def test_the_formgrader_finds_the_assignment_the_submissions_and_the_graded_notebooks(graded):
    api = nbgrader_api(graded)
    assignments = api.get_assignments()
    assert [a["name"] for a in assignments] == [A01] and assignments[0]["num_submissions"] == 3
    submissions = {s["student"]: s for s in api.get_submissions(A01)}
    assert {s: f"{x['score']:g} / {x['max_score']:g}" for s, x in submissions.items()} == STUDENTS
    assert all(s["autograded"] and not s["needs_manual_grade"] for s in submissions.values())
    # the formgrader lists (and shows) only the notebooks it finds in autograded/
    notebooks = {n["student"]: n for n in api.get_notebook_submissions(A01, examples.NOTEBOOK)}
    assert set(notebooks) == set(STUDENTS)
    assert not any(n["needs_manual_grade"] for n in notebooks.values())


def test_the_graded_notebook_is_the_students_code_in_the_released_notebook():
    release = Release.load(REPO / "course" / A01 / f"{examples.NOTEBOOK}.ipynb", A01)
    nb = json.loads(examples.example_class()["linus"])
    # a student who edited a read-only check, changed its metadata and added a cell of their own
    check = next(c for c in nb["cells"] if c["id"] == "convolve1d_check")
    check["source"] = "print('all checks passed')"
    check["metadata"]["nbgrader"]["locked"] = False
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "mine", "outputs": [],
                        "metadata": {"nbgrader": {"grade_id": "convolve1d_test", "grade": True, "points": 99}},
                        "source": "x = 1"})
    shown = json.loads(gradebook.formgrader_notebook(json.dumps(nb).encode(), release))
    by_id = {c["id"]: c for c in shown["cells"]}
    released = {c["id"]: c for c in release.cells}
    assert by_id["convolve1d_check"] == released["convolve1d_check"]
    assert by_id["correlate1d"]["source"] == next(c for c in nb["cells"] if c["id"] == "correlate1d")["source"]
    assert by_id["correlate1d"]["metadata"]["nbgrader"] == released["correlate1d"]["metadata"]["nbgrader"]
    assert by_id["mine"]["source"] == "x = 1" and "nbgrader" not in by_id["mine"]["metadata"]
    # a file that is not a notebook is shown as the release
    damaged = json.loads(gradebook.formgrader_notebook(b"{not json", release))
    assert [c["source"] for c in damaged["cells"]] == [c["source"] for c in release.cells]


# ----------------------------------------------------------------------------- in the browser

def formgrader_frame(page):
    return page.frame_locator("#formgrader iframe")


def row(frame, text):
    return frame.locator("#main-table tr").filter(has_text=text)


@pytest.mark.slow
def test_teaching_assistant_sees_grades_and_opens_feedback_in_the_formgrader(lab, page, shots):
    page.goto(lab.url("/lab/workspaces/ta?reset"))
    page.locator("#filebrowser .jp-DirListing-itemText").get_by_text("feedback", exact=True).wait_for()
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Formgrader", exact=True).click()
    frame = formgrader_frame(page)

    # Manage Assignments: the assignment, with its three submissions
    assignment = row(frame, A01)
    assignment.wait_for()
    assert re.search(rf"^\s*{A01}\s", assignment.inner_text())
    submissions = assignment.locator("td").nth(8)
    assert submissions.inner_text().strip() == "3"
    shots(page, "formgrader-assignments")

    # its submissions: each student's score, graded (nothing waits for manual grading)
    submissions.locator("a").click()
    for student, score in STUDENTS.items():
        line = row(frame, student)
        line.wait_for()
        cells = [t.strip() for t in line.locator("td").all_inner_texts()]
        assert student in cells and score in cells and "graded" in cells, cells
    assert frame.get_by_text("needs manual grading").count() == 0
    shots(page, "formgrader-scores")

    # linus's graded notebook: the points of each graded cell and the grader's comment
    row(frame, "linus").locator("td.student-name a").click()
    frame.locator("#main-table a", has_text=examples.NOTEBOOK).click()
    # the formgrader shows the grader's score and comment as each box's placeholder
    score = frame.locator("input.score#correlate1d_test[placeholder]")
    score.wait_for()
    assert float(score.get_attribute("placeholder")) == pytest.approx(0.35)
    assert float(frame.locator("input.score#convolve1d_test").get_attribute("placeholder")) == 2
    comment = frame.locator("textarea#correlate1d-comment")
    assert "0.35 of 2 points" in comment.get_attribute("placeholder")
    comment.scroll_into_view_if_needed()
    shots(page, "formgrader-graded-notebook")

    # linus's feedback page, opened from JupyterLab's file browser
    listing = page.locator("#filebrowser .jp-DirListing-content")
    for folder in ("feedback", "linus", A01):
        listing.locator(".jp-DirListing-itemText").get_by_text(folder, exact=True).dblclick()
        page.locator("#filebrowser .jp-BreadCrumbs").get_by_text(folder, exact=True).wait_for()
    listing.locator(".jp-DirListing-itemText").get_by_text(f"{examples.NOTEBOOK}.html", exact=True).dblclick()
    feedback = page.frame_locator(".jp-HTMLViewer iframe, .jp-mod-current iframe").first
    feedback.locator("body").wait_for()
    text = feedback.locator("body").inner_text()
    assert "7.87" in text and "flipped_kernel" in text and "bias_missing" in text, text[:2000]
    # the long lines of a failing check wrap instead of running off the page
    clipped = feedback.locator("pre").evaluate_all("els => els.filter(e => e.scrollWidth > e.clientWidth + 1).length")
    assert clipped == 0
    shots(page, "feedback-page")
