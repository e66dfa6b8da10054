"""The course's tooling from the command line.

    python -m autograde build [ASSIGNMENT ...]      course/ from solutions/ (nbgrader generate_assignment)
    python -m autograde grade ASSIGNMENT [options]  grade every submission of an assignment
    python -m autograde import ASSIGNMENT PATH      bring a folder or LMS export into submitted/
    python -m autograde demo                        build, then grade the bundled example class
"""

import argparse
import sys
from pathlib import Path

from . import build, demo, grade, submissions
from .errors import CourseError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build the student notebooks in course/ from solutions/")
    p.add_argument("assignments", nargs="*", help="assignment folders under solutions/ (default: all)")

    p = sub.add_parser("grade", help="grade every submission of an assignment")
    grade.add_arguments(p)

    p = sub.add_parser("import", help="import a folder of notebooks or an LMS export into submitted/")
    p.add_argument("assignment")
    p.add_argument("source", type=Path, help="a folder of <student>.ipynb / <student>.zip / <student>/, or a .zip")
    p.add_argument("--root", type=Path, default=grade.DEFAULT_ROOT)
    p.add_argument("--submitted", type=Path)

    p = sub.add_parser("demo", help="build the course and grade the bundled example class")
    p.add_argument("--root", type=Path, default=demo.DEFAULT_ROOT,
                   help="where the example class and its grades go (default: build/example-class)")
    p.add_argument("--jobs", "-j", type=int)

    args = parser.parse_args(argv)
    try:
        return run(args)
    except CourseError as e:   # the library says what is wrong; the command line says it and fails
        print(e, file=sys.stderr)
        return 1


def run(args):
    """The command `args` names; its exit status."""
    if args.command == "build":
        return build.main(args.assignments)
    if args.command == "grade":
        return grade.main_from_args(args)
    if args.command == "import":
        rels = grade.releases(args.assignment)
        submitted = args.submitted or args.root / "submitted"
        written, problems = submissions.import_submissions(args.source, submitted, args.assignment,
                                                           [r.notebook for r in rels])
        for student, paths in sorted(written.items()):
            for path in paths:
                print(f"{student}: {path}")
        for problem in problems:
            print(f"not imported: {problem}", file=sys.stderr)
        return 0 if written else 1
    if args.command == "demo":
        return demo.main(args.root, args.jobs)
    return 2


if __name__ == "__main__":
    sys.exit(main())
