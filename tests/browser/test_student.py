"""A student in JupyterLab on course/: opens assignment 01, runs it, writes a function, reads what the
visible checks say, and validates the notebook with nbgrader's Validate button."""

import re
import shutil

import pytest

from autograde import examples

from .lab import REPO, JupyterLab, Notebook

pytestmark = pytest.mark.slow   # a JupyterLab, a kernel and a browser: not for `make test-fast`

A01 = "01-convolution/convolution.ipynb"

# convolve1d as students often first write it: the kernel read backwards (cross-correlation)
FLIPPED = '''def convolve1d(x, k):
    n, m = len(x), len(k)
    y = np.zeros(n + m - 1)
    for i in range(n):
        for j in range(m):
            y[i + j] += x[i] * k[m - 1 - j]
    return y
'''
RIGHT = FLIPPED.replace("k[m - 1 - j]", "k[j]")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab course/` (the README's command for students), on a copy of course/."""
    tmp = tmp_path_factory.mktemp("student")
    shutil.copytree(REPO / "course", tmp / "course")
    with JupyterLab(tmp / "course", tmp / "home", cwd=tmp) as server:
        yield server


def dialog_text(page):
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header").wait_for()
    return dialog.inner_text()


def validate(page, nb, shots, step):
    """Save, press Validate, read the dialog (the notebook runs on the server first), close it."""
    nb.save()
    nb.panel.locator(".jp-Toolbar-item").filter(has_text=re.compile(r"^\s*Validate\s*$")).click()
    page.locator(".jp-Dialog .jp-Dialog-header", has_text="Validation Results").wait_for(timeout=180_000)
    text = dialog_text(page)
    shots(page, step)
    page.locator(".jp-Dialog .jp-Dialog-button", has_text="Ok").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
    return text


def show(nb, cell_id):
    """Scroll so that the cell is at the top of the notebook's view."""
    nb.cell(cell_id).evaluate("el => el.scrollIntoView({block: 'start'})")


def test_student_writes_a_function_reads_the_checks_and_validates(lab, page, shots):
    nb = Notebook.open(page, lab, lab.root / A01, "student")
    # the formulas are typeset by MathJax, not left as TeX
    markdown = nb.panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown")
    assert nb.wait_typeset(20) >= 20, "MathJax typeset fewer than 20 formulas"
    rendered = "\n".join(markdown.all_text_contents())
    assert "$$" not in rendered and "\\sum" not in rendered and "\\frac" not in rendered
    assert page.locator(".jp-Toolbar-item", has_text="Validate").count() == 1
    shots(page, "assignment-opened")
    nb.panel.locator('.jp-MarkdownCell mjx-container[display="true"]').first.evaluate(
        "el => el.closest('.jp-Cell').scrollIntoView({block: 'start'})")
    shots(page, "formulas-typeset")

    # the first function, not written yet: its check says so
    nb.run("cell-001", "cell-003", "convolve1d", "convolve1d_check")
    out = nb.output_text("convolve1d_check")
    assert "6 of 6 checks failed for convolve1d" in out and "raised NotImplementedError" in out
    show(nb, "convolve1d")
    shots(page, "check-says-not-written-yet")

    # a first try with the kernel read backwards: the check names the mistake
    nb.type_into("convolve1d", FLIPPED)
    nb.run("convolve1d", "convolve1d_check")
    out = nb.output_text("convolve1d_check")
    assert re.search(r"[1-6] of 6 checks failed for convolve1d", out), out[:500]
    assert "likely mistake [flipped_kernel]" in out and "expected:" in out and "got:" in out
    show(nb, "convolve1d")
    shots(page, "check-names-the-mistake")

    # corrected: the check passes
    nb.type_into("convolve1d", RIGHT)
    nb.run("convolve1d", "convolve1d_check")
    out = nb.output_text("convolve1d_check")
    assert "all 6 checks passed for convolve1d" in out and "failed" not in out
    show(nb, "convolve1d")
    shots(page, "check-passes")

    # Validate with four functions still to write: it lists exactly those
    text = validate(page, nb, shots, "validate-lists-what-is-missing")
    for name in ("correlate1d", "correlate2d", "convolve2d", "conv2d"):
        assert re.search(rf"\d+ of \d+ checks failed for {name}\b", text), name
    assert "checks failed for convolve1d" not in text and "Success" not in text

    # the other four written (the course's own solutions): Validate passes
    solved = examples.solution_sources("01-convolution", "convolution")
    for name in ("correlate1d", "correlate2d", "convolve2d", "conv2d"):
        nb.type_into(name, solved[name])
    text = validate(page, nb, shots, "validate-passes")
    assert "Success! Your notebook passes all the tests." in text
    assert "failed" not in text
