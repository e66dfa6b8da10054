"""Grading throughput: `python -m autograde grade` against plain sequential `nbgrader autograde`.

Both grade the same submissions of assignment 01 in one run, each in a course folder of its own:
nbgrader's autograde executes every notebook (hidden tests included) in a Jupyter kernel, one
student after another; the course's command runs each submission's code in a sandboxed process,
several at once, and judges the outputs outside it. Prints notebooks per minute for each and the
ratio.

    python bench/bench_grading.py                 # 12 submissions, workers = CPUs
    python bench/bench_grading.py --students 24 --jobs 2
    python bench/bench_grading.py --sandbox bwrap --sandbox python   # what the kernel sandbox costs
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograde import build, examples, grade, sandbox  # noqa: E402

ASSIGNMENT = examples.ASSIGNMENT
# submissions nbgrader can grade as well: correct ones and ones with mistakes (no damaged files)
KINDS = ("ada", "grace", "linus", "mallory")


def make_class(root, n):
    classroom = examples.example_class()
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        path = Path(root) / "submitted" / f"{kind}{i:03d}" / ASSIGNMENT / f"{examples.NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(classroom[kind])


def time_nbgrader(root, students):
    """Sequential `nbgrader autograde`, one student after another, through nbgrader's API."""
    build.write_source(build.to_notebook(build.SOLUTIONS / ASSIGNMENT / f"{examples.NOTEBOOK}.py"),
                       root, ASSIGNMENT, examples.NOTEBOOK)
    api = build.nbgrader_api(root)
    api.generate_assignment(ASSIGNMENT, force=True, create=True)
    t0 = time.perf_counter()
    failed = 0
    for student in students:
        result = api.autograde(ASSIGNMENT, student, force=True, create=True)
        failed += not result["success"]
    return time.perf_counter() - t0, failed


def time_ours(root, workers, mode="auto"):
    t0 = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        grade.grade(ASSIGNMENT, root=root, workers=workers, regrade=True, progress=False, out=quiet, sandbox=mode)
    return time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=12)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    p.add_argument("--sandbox", action="append", choices=sandbox.MODES,
                   help="the isolation to grade under (repeat to time several; default: auto)")
    args = p.parse_args(argv)
    modes = args.sandbox or ["auto"]

    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        ours_root, nbg_root = tmp / "ours", tmp / "nbgrader"
        make_class(ours_root, args.students)
        make_class(nbg_root, args.students)
        students = sorted(p.name for p in (nbg_root / "submitted").iterdir())
        print(f"grading {args.students} submissions of {ASSIGNMENT}: python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, {platform.machine()}")
        nbg, failed = time_nbgrader(nbg_root, students)
        rate = lambda seconds: 60 * args.students / seconds
        print(f"{'':44}{'seconds':>10}{'notebooks/min':>16}")
        print(f"{'nbgrader autograde (sequential, no sandbox)':44}{nbg:>10.1f}{rate(nbg):>16.1f}"
              + (f"   ({failed} failed)" if failed else ""))
        for mode in modes:
            name = sandbox.isolation(mode).name
            ours = time_ours(ours_root, args.jobs, mode)
            print(f"{f'autograde grade --jobs {args.jobs} --sandbox {name}':44}{ours:>10.1f}{rate(ours):>16.1f}"
                  f"   ratio {nbg / ours:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
