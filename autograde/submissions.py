"""Finding submissions, and bringing them into nbgrader's layout.

The grader reads `<submitted>/<student>/<assignment>/<notebook>.ipynb` (nbgrader's `submitted/`).
`import_submissions` fills that layout from what a TA downloads:

* a folder of notebooks named by student: `alice.ipynb`, `bob.ipynb`;
* a folder of per-student folders: `alice/convolution.ipynb`;
* an LMS export: a folder or a .zip holding one .zip per student (`alice.zip`, with the notebook
  anywhere inside), or notebooks named by student.

A student's id is the file or folder name, reduced to letters, digits, `-`, `_`, `.` and `@`.
When an assignment has one notebook, whatever .ipynb a student handed in is taken as that
notebook; otherwise notebooks are matched by name.
"""

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path, PurePosixPath

from .errors import CourseError

MAX_MEMBER = 64 << 20   # a notebook inside an archive may not be larger than this


def student_id(name):
    sid = re.sub(r"[^A-Za-z0-9_.@-]+", "_", Path(name).stem).strip("._")
    if not sid:
        raise ValueError(f"cannot make a student id from {name!r}")
    return sid


def display_id(name):
    """A student folder's name as an id that any text can hold. A name the file system could not
    decode (its bytes are not UTF-8: Python shows them as lone surrogates) gets U+FFFD for those
    characters and a short hash of its bytes, so that two such folders never share an id."""
    safe = re.sub("[\ud800-\udfff]", "\ufffd", name)
    if safe == name:
        return name
    return f"{safe}~{hashlib.sha256(os.fsencode(name)).hexdigest()[:8]}"


def find(submitted, assignment, notebooks):
    """{student: {notebook: path or None}} for every student folder holding the assignment; a student
    is named by `display_id` of the folder's name."""
    out = {}
    root = Path(submitted)
    if not root.is_dir():
        return out
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        folder = student_dir / assignment
        if folder.is_dir():
            out[display_id(student_dir.name)] = {
                nb: (folder / f"{nb}.ipynb" if (folder / f"{nb}.ipynb").is_file() else None) for nb in notebooks}
    return out


def _notebooks_in_zip(data):
    """[(name, bytes)] of the .ipynb files in a zip archive (nested zips are opened too)."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or "__MACOSX" in name.parts or name.name.startswith("."):
                continue
            if info.file_size > MAX_MEMBER:
                continue
            if name.suffix == ".ipynb" and ".ipynb_checkpoints" not in name.parts:
                found.append((name.name, z.read(info)))
            elif name.suffix == ".zip":
                found += _notebooks_in_zip(z.read(info))
    return found


def _entries(source):
    """[(student, [(notebook file name, bytes)])] from a folder or a .zip export."""
    source = Path(source)
    entries = []
    if source.is_file() and source.suffix == ".zip":
        with zipfile.ZipFile(source) as z:
            members = {}
            for info in z.infolist():
                parts = PurePosixPath(info.filename).parts
                if info.is_dir() or "__MACOSX" in parts or info.file_size > MAX_MEMBER:
                    continue
                members[info.filename] = z.read(info)
        # one level: <student>.ipynb / <student>.zip / <student>/<...>.ipynb (a top folder is skipped)
        tops = {PurePosixPath(n).parts[0] for n in members}
        strip = len(tops) == 1 and all(len(PurePosixPath(n).parts) > 2 for n in members)
        groups = {}
        for name, data in members.items():
            parts = PurePosixPath(name).parts[1:] if strip else PurePosixPath(name).parts
            groups.setdefault(parts[0], []).append((PurePosixPath(*parts), data))
        for top, files in sorted(groups.items()):
            entries.append((top, _collect(files)))
        return entries
    if not source.is_dir():
        raise CourseError(f"nothing to import at {source}: give a folder or a .zip file")
    for item in sorted(source.iterdir()):
        if item.name.startswith("."):
            continue
        if item.is_file() and item.suffix in (".ipynb", ".zip"):
            entries.append((item.name, _collect([(PurePosixPath(item.name), item.read_bytes())])))
        elif item.is_dir():
            files = [(PurePosixPath(p.relative_to(item).as_posix()), p.read_bytes())
                     for p in item.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".zip")
                     and ".ipynb_checkpoints" not in p.parts]
            entries.append((item.name, _collect(files)))
    return entries


def _collect(files):
    out = []
    for path, data in files:
        if path.suffix == ".ipynb":
            out.append((path.name, data))
        elif path.suffix == ".zip":
            try:
                out += _notebooks_in_zip(data)
            except zipfile.BadZipFile:
                continue
    return out


def import_submissions(source, submitted, assignment, notebooks):
    """Copy the notebooks found at `source` into `<submitted>/<student>/<assignment>/`.

    Returns ({student: [written paths]}, [problems]); an entry with no usable notebook is a problem,
    not an error, so one bad upload never stops an import.
    """
    written, problems = {}, []
    for name, files in _entries(source):
        try:
            sid = student_id(name)
        except ValueError as e:
            problems.append(str(e))
            continue
        if not files:
            problems.append(f"{name}: no notebook found")
            continue
        folder = Path(submitted) / sid / assignment
        chosen = {}
        if len(notebooks) == 1:
            # the one notebook of the assignment: prefer a file of that name, else the only one
            named = [d for n, d in files if Path(n).stem == notebooks[0]]
            if named or len(files) == 1:
                chosen[notebooks[0]] = (named or [files[0][1]])[0]
            else:
                problems.append(f"{name}: {len(files)} notebooks and none is called {notebooks[0]}.ipynb")
        else:
            for nb in notebooks:
                named = [d for n, d in files if Path(n).stem == nb]
                if named:
                    chosen[nb] = named[0]
            missing = [nb for nb in notebooks if nb not in chosen]
            if missing:
                problems.append(f"{name}: missing {', '.join(m + '.ipynb' for m in missing)}")
        for nb, data in chosen.items():
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{nb}.ipynb"
            path.write_bytes(data)
            written.setdefault(sid, []).append(path)
    return written, problems
