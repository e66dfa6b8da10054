"""The main job: build the course from solutions/, grade the bundled example class, show the table.

    python -m autograde demo      (what `make run` runs)

It writes everything under build/example-class/ (git-ignored): the class in submitted/, the grades
in grades/01-convolution.csv, a feedback page per student in feedback/, nbgrader's gradebook.db.
Each run starts from an empty folder, so it always shows a full grading run.
"""

import shutil
import sys
from pathlib import Path

from . import build, examples, grade

DEFAULT_ROOT = build.REPO / "build" / "example-class"


def main(root=DEFAULT_ROOT, jobs=None, course=build.COURSE, nbgrader_root=build.HERE):
    """The main job; `course` and `nbgrader_root` let a test build somewhere other than the repository."""
    root = Path(root)
    print("1. building the student notebooks in course/ from solutions/ (nbgrader generate_assignment)")
    for path in build.build(root=nbgrader_root, course=course):
        print(f"   {path.relative_to(build.REPO) if path.is_relative_to(build.REPO) else path}")
    if root.exists():
        shutil.rmtree(root)
    print(f"2. the example class of {examples.ASSIGNMENT} in {root / 'submitted'}")
    for path in examples.write_class(root / "submitted", course=course):
        print(f"   {path.relative_to(root)}")
    print(f"3. grading it: python -m autograde grade {examples.ASSIGNMENT} --root {root}")
    sys.stdout.flush()
    grade.grade(examples.ASSIGNMENT, root=root, workers=jobs, course=course)
    return 0
