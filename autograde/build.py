"""Build the student notebooks in course/ from the instructor sources in solutions/.

Each instructor notebook is a jupytext "percent" script, solutions/<assignment>/<notebook>.py,
with nbgrader's cell metadata in the cell headers. The build is a pipeline of small steps:

1. ``to_notebook``: read the script with jupytext and turn it into a notebook with empty outputs,
   fixed cell ids and the python3 kernel; ``write_source`` saves it as nbgrader's source,
   <root>/source/<assignment>/<notebook>.ipynb.
2. ``generate``: nbgrader's generate_assignment (through its Python API, with the course
   configuration in autograde/nbgrader_config.py) writes the student version to
   <root>/release/<assignment>/: solutions replaced by ``raise NotImplementedError()``, hidden
   tests removed, graded cells locked and checksummed.
3. ``normalise``: the released notebook as deterministic JSON (fixed cell ids, only the metadata
   nbgrader and Jupyter need, sorted keys, trailing newline), so that building twice gives the
   same bytes.
4. ``publish``: copy it to course/<assignment>/<notebook>.ipynb, the committed student version.

Run it as ``python -m autograde.build [assignment ...]`` (all assignments by default) or
``make course``. ``root`` and ``course`` can point elsewhere, which is how the tests check that
the committed course/ is up to date.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat

from .errors import CourseError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "course"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}


def assignments(solutions=SOLUTIONS):
    """The assignment folders under solutions/, in order."""
    return sorted(p.name for p in solutions.iterdir() if p.is_dir() and list(p.glob("*.py")))


def cell_id(cell, index):
    """A stable id: the nbgrader grade_id where there is one, else the cell's position."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id if grade_id else f"cell-{index:03d}"


def fix_cells(nb):
    """Fixed ids and no outputs, execution counts or per-cell jupytext leftovers."""
    for index, cell in enumerate(nb.cells):
        cell["id"] = cell_id(cell, index)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        # jupytext can keep its own cell options in metadata; nbgrader's is the only one we need
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "nbgrader"}
    return nb


def fix_metadata(nb):
    """Notebook metadata: the kernel and language only (no jupytext header, nothing time-based)."""
    nb["metadata"] = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    nb["nbformat"], nb["nbformat_minor"] = 4, 5  # 4.5: the version that has cell ids
    return nb


def to_notebook(script):
    """Step 1: the jupytext percent script as a notebook with fixed ids and no outputs."""
    nb = jupytext.read(script, fmt="py:percent")
    return fix_metadata(fix_cells(nb))


def write_source(nb, root, assignment, name):
    """Step 1 (end): save the notebook as nbgrader's source for the assignment."""
    path = Path(root) / "source" / assignment / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(dumps(nb), encoding="utf-8")
    return path


def nbgrader_api(root):
    """nbgrader's API with the course configuration, rooted at ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(HERE)).load_config()
    config.CourseDirectory.root = str(Path(root).resolve())  # the config's root is autograde/
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def generate(root, assignment):
    """Step 2: nbgrader generate_assignment, source/<assignment> -> release/<assignment>."""
    result = nbgrader_api(root).generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n"
                           f"{result.get('error', '')}\n{result.get('log', '')}")
    return Path(root) / "release" / assignment


def normalise(nb):
    """Step 3: the released notebook with fixed ids and metadata, ready for deterministic JSON."""
    return fix_metadata(fix_cells(nb))


def dumps(nb):
    """Deterministic JSON in Jupyter's own style (indent 1, sorted keys) with a trailing newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def publish(nb, course, assignment, name):
    """Step 4: write the student notebook to course/<assignment>/<name>.ipynb."""
    path = Path(course) / assignment / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(dumps(nb), encoding="utf-8")
    return path


def build(names=None, root=HERE, course=COURSE, solutions=SOLUTIONS):
    """Run the pipeline for each assignment; returns the student notebooks written."""
    written = []
    for assignment in names or assignments(solutions):
        scripts = sorted((Path(solutions) / assignment).glob("*.py"))
        if not scripts:
            raise CourseError(f"no notebooks found in {Path(solutions) / assignment}")
        # start from empty folders so a renamed or removed notebook leaves nothing behind
        for stale in (Path(root) / "source" / assignment, Path(root) / "release" / assignment,
                      Path(course) / assignment):
            shutil.rmtree(stale, ignore_errors=True)
        for script in scripts:
            write_source(to_notebook(script), root, assignment, script.stem)
        release = generate(root, assignment)
        for script in scripts:
            nb = nbformat.read(release / f"{script.stem}.ipynb", as_version=4)
            written.append(publish(normalise(nb), course, assignment, script.stem))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde.build", description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment folders under solutions/ (default: all)")
    args = parser.parse_args(argv)
    try:
        for path in build(args.assignments):
            print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    except CourseError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
