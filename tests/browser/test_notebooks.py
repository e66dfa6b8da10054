"""The finished notebooks of assignments 01 and 02 run in JupyterLab from top to bottom and render well:
every check passes, no cell writes an error or a warning, the formulas are typeset, the figures fit
the page, and the interactive explorer of assignment 02 is a working widget."""

import json
import re
import shutil

import pytest

from autograde import examples

from .lab import REPO, JupyterLab, Notebook

pytestmark = pytest.mark.slow   # a JupyterLab, a kernel and a browser: not for `make test-fast`

FINISHED = {"01-convolution": "convolution", "02-padding-stride": "padding_stride"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a copy of course/ in which a student has written every function of 01 and 02."""
    tmp = tmp_path_factory.mktemp("finished")
    shutil.copytree(REPO / "course", tmp / "course")
    for assignment, notebook in FINISHED.items():
        path = tmp / "course" / assignment / f"{notebook}.ipynb"
        release = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(examples.fill(release, examples.solution_sources(assignment, notebook)),
                                   indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with JupyterLab(tmp / "course", tmp / "home", cwd=tmp) as server:
        yield server


def code_cells(path):
    return [c["id"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def run_all(page, nb):
    """Run → Run All Cells, and wait for the last code cell to have run."""
    last = code_cells(nb.path)[-1]
    nb.watch(last)
    nb.menu("Run", "Run All Cells")
    nb.wait_ran(last, seconds=240)


def check_rendering(nb, checks):
    """What every finished notebook must show after Run All; returns the figures (img locators)."""
    panel = nb.panel
    # every code cell ran, in order
    for cell_id in code_cells(nb.path):
        assert nb.prompt(cell_id) not in ("[ ]:", "[*]:"), f"cell {cell_id} did not run"
    # no cell wrote to stderr: no traceback, no warning
    stderr = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, "\n---\n".join(stderr.all_text_contents())[:3000]
    for name in checks:
        assert re.search(rf"all \d+ checks passed for {name}\b", nb.output_text(f"{name}_check")), name
    # formulas typeset, none left as TeX
    assert nb.wait_typeset(20) >= 20, "MathJax typeset fewer than 20 formulas"
    text = "\n".join(panel.locator(".jp-MarkdownCell .jp-RenderedMarkdown").all_text_contents())
    assert "$$" not in text and "\\sum" not in text and "\\frac" not in text
    # figures: PNGs that fit the notebook's width and are not taller than the window
    figures = panel.locator(".jp-OutputArea-output img")
    assert figures.count() >= 4
    for i in range(figures.count()):
        img = figures.nth(i)
        img.scroll_into_view_if_needed()
        size = img.evaluate("""el => ({w: el.getBoundingClientRect().width, h: el.getBoundingClientRect().height,
                                       nw: el.naturalWidth, area: el.closest('.jp-OutputArea').clientWidth})""")
        assert size["nw"] > 0 and size["w"] > 0, f"figure {i} is empty"
        assert size["w"] <= size["area"] + 1, f"figure {i} is wider than the notebook: {size}"
        assert size["h"] <= 900, f"figure {i} is taller than the window: {size}"
    return figures


def show(figure):
    figure.evaluate("el => el.scrollIntoView({block: 'center'})")


def test_assignment_01_finished_runs_and_renders(lab, page, shots):
    nb = Notebook.open(page, lab, lab.root / "01-convolution" / "convolution.ipynb", "finished-01")
    run_all(page, nb)
    figures = check_rendering(nb, ["convolve1d", "correlate1d", "correlate2d", "convolve2d", "conv2d"])
    for i in range(figures.count()):
        show(figures.nth(i))
        shots(page, f"figure-{i + 1}")


def test_assignment_02_finished_runs_and_the_explorer_responds(lab, page, shots):
    nb = Notebook.open(page, lab, lab.root / "02-padding-stride" / "padding_stride.ipynb", "finished-02")
    run_all(page, nb)
    figures = check_rendering(nb, ["pad2d", "conv_output_size", "conv2d"])
    for i in range(figures.count()):
        show(figures.nth(i))
        shots(page, f"figure-{i + 1}")

    # the explorer: a widget whose figure is drawn again when a slider moves or the padding changes
    explorer = nb.cell("cell-028")
    show(explorer)
    box = explorer.locator(".widget-interact")
    box.wait_for()
    text = explorer.text_content()
    assert "Error displaying widget" not in text and "interactive(children" not in text
    labels = [t.strip() for t in box.locator(".widget-label").all_text_contents()]
    for label in ("H", "W", "kernel H", "kernel W", "padding", "stride", "dilation", "output i", "output j"):
        assert label in labels, labels
    figure = box.locator(".widget-output img")
    figure.wait_for()
    show(box)
    shots(page, "explorer")

    stride = slider(box, "stride")
    assert stride.locator(".widget-readout").text_content().strip() == "2"
    before = figure.get_attribute("src")
    drag_to_start(page, stride)
    expect_text(stride.locator(".widget-readout"), "1")
    wait_changed(page, figure, before)
    shots(page, "explorer-stride-1")

    before = figure.get_attribute("src")
    box.locator(".widget-dropdown select").select_option(label="valid")
    wait_changed(page, figure, before)
    errors = box.locator('.widget-output [data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, errors.all_text_contents()
    shots(page, "explorer-padding-valid")


def slider(box, label):
    """The slider widget with this description."""
    return box.locator(".widget-slider").filter(
        has=box.page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))


def drag_to_start(page, widget):
    """Drag a slider's handle with the mouse all the way to the left."""
    handle = widget.locator(".noUi-handle")
    track = widget.locator(".noUi-target").bounding_box()
    start = handle.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] - 20, start["y"] + start["height"] / 2, steps=8)
    page.mouse.up()


def expect_text(locator, text, seconds=30):
    locator.page.wait_for_function("([el, text]) => el.textContent.trim() === text",
                                   arg=[locator.element_handle(), text], timeout=seconds * 1000)


def wait_changed(page, figure, before, seconds=60):
    """Wait until the widget's figure is a new image (the kernel drew it again)."""
    page.wait_for_function("([box, before]) => { const img = box.querySelector('.widget-output img');"
                           " return img && img.getAttribute('src') !== before && img.naturalWidth > 0; }",
                           arg=[figure.locator("xpath=ancestor::div[contains(@class, 'widget-interact')]")
                                .element_handle(), before], timeout=seconds * 1000)
