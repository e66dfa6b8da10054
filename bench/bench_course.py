"""How long each assignment's notebook takes to run, and to grade.

For every assignment (or those named): the instructor notebook executed top to bottom by a Jupyter
kernel (what a student waits for with "Run All"), the student's notebook graded by the TA's command
(its cells and every hidden check, in the sandbox, with the assignment's own limits), and the grading
of the blank release (what an empty submission costs). The data sets come from $CNNKIT_DATA.

    python bench/bench_course.py [assignment ...] [--markdown]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbclient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograde import build, examples, grader  # noqa: E402


def run_notebook(assignment, name):
    """Seconds to execute the instructor notebook with a fresh kernel."""
    nb = build.to_notebook(build.SOLUTIONS / assignment / f"{name}.py")
    client = nbclient.NotebookClient(nb, timeout=1200, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO)}})
    t0 = time.perf_counter()
    client.execute()
    return time.perf_counter() - t0


def grade_once(assignment, name, blank=False):
    """(seconds, score, max score) of grading the release filled with the solutions (or left blank)."""
    job = examples.solved_job(assignment, name, blank=blank, student="timing")
    t0 = time.perf_counter()
    result = grader.grade_submission(job)
    return time.perf_counter() - t0, result.score, result.max_score


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignments", nargs="*", help="assignment folders (default: all)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table for the README")
    args = p.parse_args(argv)
    if not os.environ.get("CNNKIT_DATA"):
        print("note: CNNKIT_DATA is not set; notebooks that train on real data will look for it elsewhere",
              file=sys.stderr)
    rows = []
    for assignment in args.assignments or build.assignments():
        for source in sorted((build.SOLUTIONS / assignment).glob("*.py")):
            name = source.stem
            run = run_notebook(assignment, name)
            graded, score, max_score = grade_once(assignment, name)
            blank, zero, _ = grade_once(assignment, name, blank=True)
            rows.append((assignment, name, run, graded, blank, score, zero, max_score))
            print(f"{assignment}/{name}: runs in {run:.0f} s, grades in {graded:.0f} s "
                  f"(solution {score:g}/{max_score:g}), blank in {blank:.0f} s ({zero:g})", flush=True)
    if args.markdown:
        print("\n| assignment | run (instructor notebook) | grade (one solved notebook) | grade (blank) |")
        print("| --- | --- | --- | --- |")
        for assignment, name, run, graded, blank, *_ in rows:
            print(f"| {assignment} | {run:.0f} s | {graded:.0f} s | {blank:.0f} s |")


if __name__ == "__main__":
    main()
