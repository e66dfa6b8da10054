"""A small example class for assignment 01, made from the released notebook.

Each student is the release with its solution cells filled in (and sometimes more done to it), so the
examples always match the current course/. The class shows what grading does with each kind of
submission:

    ada      the instructor's solutions                              full marks
    grace    correct, written differently (vectorised, own helpers)  full marks
    linus    common mistakes: a flipped kernel, a forgotten bias     loses those points, told why
    ken      a damaged file (not valid JSON)                         no marks, told why
    mallory  calls numpy.convolve and scipy.signal                   no credit for those two, for review
    trudy    patches the checks and numpy to pass everything         no credit, for review
    oscar    one function loops forever, one cell crashes            loses only that function

`write_class(folder)` writes them in nbgrader's layout: <folder>/<student>/01-convolution/convolution.ipynb.
"""

import json
import re
from pathlib import Path

from . import build

ASSIGNMENT = "01-convolution"
NOTEBOOK = "convolution"

GRACE = {
    "convolve1d": '''
def convolve1d(x, k):
    x = np.asarray(x, dtype=np.result_type(x, k, 1.0))
    k = np.asarray(k, dtype=x.dtype)
    n, m = len(x), len(k)
    padded = np.concatenate([np.zeros(m - 1, x.dtype), x, np.zeros(m - 1, x.dtype)])
    return np.array([padded[i:i + m] @ k[::-1] for i in range(n + m - 1)], dtype=x.dtype)
''',
    "correlate1d": '''
def correlate1d(x, k):
    x, k = np.asarray(x), np.asarray(k)
    dtype = np.result_type(x, k, 1.0)
    windows = np.lib.stride_tricks.sliding_window_view(x, len(k))
    return (windows @ k).astype(dtype)
''',
    "correlate2d": '''
def windows2d(x, kh, kw):
    """Every kh x kw window of x, as an array (H - kh + 1, W - kw + 1, kh, kw)."""
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw))


def correlate2d(x, k):
    x, k = np.asarray(x), np.asarray(k)
    return np.tensordot(windows2d(x, *k.shape), k, axes=2).astype(np.result_type(x, k, 1.0))
''',
    "convolve2d": '''
def convolve2d(x, k):
    k = np.flip(np.asarray(k))
    return correlate2d(x, k)
''',
    "conv2d": '''
def conv2d(x, w, b=None):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    out = np.zeros((N, F, H - kh + 1, W - kw + 1), dtype=np.result_type(x, w, 1.0))
    for p in range(kh):
        for q in range(kw):
            patch = x[:, :, p:p + H - kh + 1, q:q + W - kw + 1]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, p, q])
    if b is not None:
        out += np.reshape(b, (1, F, 1, 1)).astype(out.dtype)
    return out
''',
}

LINUS = {
    # the kernel is flipped: this is true convolution, not cross-correlation
    "correlate1d": '''
def correlate1d(x, k):
    n, m = len(x), len(k)
    return np.array([np.sum(x[i:i + m] * k[::-1]) for i in range(n - m + 1)], dtype=np.result_type(x, k, 1.0))
''',
    # the bias is never added
    "conv2d": '''
def conv2d(x, w, b=None):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    out = np.zeros((N, F, H - kh + 1, W - kw + 1), dtype=np.result_type(x, w, 1.0))
    for n in range(N):
        for f in range(F):
            for i in range(H - kh + 1):
                for j in range(W - kw + 1):
                    out[n, f, i, j] = np.sum(x[n, :, i:i + kh, j:j + kw] * w[f])
    return out
''',
}

MALLORY = {
    "convolve1d": '''
def convolve1d(x, k):
    return np.convolve(x, k).astype(np.result_type(x, k, 1.0))
''',
    "correlate2d": '''
from scipy import signal


def correlate2d(x, k):
    return signal.correlate2d(x, k, mode="valid").astype(np.result_type(x, k, 1.0))
''',
}

TRUDY_CELL = '''
# make every check pass
import cnnkit.checks
cnnkit.checks.check = lambda *args, **kwargs: print("all checks passed")
cnnkit.checks.judge = lambda *args, **kwargs: True
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
'''

OSCAR = {
    "correlate1d": '''
def correlate1d(x, k):
    i = 0
    while True:     # forgot to advance i
        pass
''',
}
OSCAR_CELL = '''
# a scratch cell that crashes: grading goes on
values = conv2d(np.ones((3, 3)), np.ones((2, 2)))   # conv2d takes (N, C, H, W) and (C_out, C, kH, kW)
'''


def solution_sources(assignment=ASSIGNMENT, notebook=NOTEBOOK):
    """{grade_id: source} of the instructor's solution cells, without nbgrader's markers."""
    nb = build.to_notebook(build.SOLUTIONS / assignment / f"{notebook}.py")
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            out[meta["grade_id"]] = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|\Z)", "", cell.source, flags=re.M)
    return out


def release_notebook(course=build.COURSE, assignment=ASSIGNMENT, notebook=NOTEBOOK):
    return json.loads((Path(course) / assignment / f"{notebook}.ipynb").read_text(encoding="utf-8"))


def solved_job(assignment, notebook, sources=None, blank=False, student="s", seed=1, course=build.COURSE):
    """A job for `grader.grade_submission`: the release of `assignment` filled with the instructor's
    solutions and `sources` over them (or left blank), under the assignment's own limits."""
    from . import grader
    from .notebook import Release

    nb = release_notebook(course, assignment, notebook)
    if not blank:
        nb = fill(nb, {**solution_sources(assignment, notebook), **(sources or {})})
    release = Release.load(Path(course) / assignment / f"{notebook}.ipynb")
    return {"student": student, "data": json.dumps(nb).encode(), "release": release.to_dict(), "seed": seed,
            "limits": grader.limits_for(release.number).__dict__,
            "protected": [str(build.SOLUTIONS), str(build.HERE)]}


def fill(nb, sources, after=None):
    """The notebook with its solution cells' sources replaced; `after`: {grade_id: new cell source}
    inserts a code cell of the student's own after that cell."""
    nb = json.loads(json.dumps(nb))
    cells = []
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell["source"] = sources[gid].strip("\n") + "\n"
        cells.append(cell)
        if after and gid in after:
            cells.append({"cell_type": "code", "execution_count": None, "id": f"own-{gid}", "metadata": {},
                          "outputs": [], "source": after[gid].strip("\n") + "\n"})
    nb["cells"] = cells
    return nb


def example_class(course=build.COURSE):
    """{student: notebook bytes} for the example class."""
    release = release_notebook(course)
    solved = solution_sources()
    dump = lambda nb: (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()
    ada = dump(fill(release, solved))
    return {
        "ada": ada,
        "grace": dump(fill(release, GRACE)),
        "linus": dump(fill(release, {**solved, **LINUS})),
        "ken": ada[: len(ada) // 2],
        "mallory": dump(fill(release, {**solved, **MALLORY})),
        "trudy": dump(fill(release, solved, after={"convolve1d": TRUDY_CELL})),
        "oscar": dump(fill(release, {**solved, **OSCAR}, after={"conv2d": OSCAR_CELL})),
    }


def write_class(folder, course=build.COURSE):
    """Write the example class in nbgrader's submitted/ layout under `folder`; returns the paths."""
    paths = []
    for student, data in example_class(course).items():
        path = Path(folder) / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths
