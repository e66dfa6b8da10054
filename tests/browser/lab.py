"""A JupyterLab server for the browser tests, and what a person does on its pages.

`JupyterLab` starts ``python -m jupyterlab`` the way a student or a teaching assistant does, but on
127.0.0.1, a free port and a token of its own, with configuration, runtime, data and settings folders
of its own (nothing from the machine's user leaks in), and always stops it. `Notebook` drives an open
notebook: cells by their id, typing into a cell, running it and waiting for the kernel, reading the
output. `Shots` saves the screenshots of a test.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"

STARTUP_SECONDS = 120   # a cold start on a busy 2-core machine
KERNEL_SECONDS = 120    # one cell, or a whole notebook, on the same machine

# JupyterLab's own settings for a test: no pop-up about news or updates over the page
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``python -m jupyterlab`` serving `root`, run from `cwd`, its own folders under `home`.

    Use it as a context manager; ``url(path)`` is a page of it with the token, ``log()`` its output.
    """

    def __init__(self, root, home, cwd=None, args=()):
        self.root, self.home = Path(root), Path(home)
        self.cwd = Path(cwd) if cwd else self.root
        self.args = list(args)
        self.token = secrets.token_hex(16)
        self.port = None
        self.proc = None
        self.log_path = self.home / "jupyterlab.log"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def env(self):
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR",
                     "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
            folder = self.home / name.lower()
            folder.mkdir(parents=True, exist_ok=True)
            env[name] = str(folder)
        env.pop("MPLBACKEND", None)   # a non-interactive backend set for the tests would hide every figure
        env.pop("JUPYTER_PATH", None)
        if sys.prefix != sys.base_prefix:
            # a virtual environment that sees the base installation's packages must see their lab
            # extensions and server configuration too (nbgrader's menu, the widgets' renderer)
            base = Path(sys.base_prefix)
            env["JUPYTER_PATH"] = str(base / "share" / "jupyter")
            env["JUPYTER_CONFIG_PATH"] = str(base / "etc" / "jupyter")
        return env

    def command(self):
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")   # CI runs as root
        return cmd + self.args

    def start(self):
        env = self.env()
        for name, value in SETTINGS.items():
            path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        for attempt in range(3):   # a free port can be taken between choosing it and binding it
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(self.command(), cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                self.wait_ready()
                return
            except RuntimeError:
                self.stop()
                if attempt == 2 or "already in use" not in self.log():
                    raise

    def wait_ready(self):
        deadline = time.monotonic() + STARTUP_SECONDS
        request = urllib.request.Request(self.url("/api/status", token=False),
                                         headers={"Authorization": f"token {self.token}"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer within {STARTUP_SECONDS} s:\n{self.log()[-3000:]}")

    def stop(self):
        """Stop the server (it shuts its kernels down first); kill what is left of its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc = None

    def url(self, path="/lab", token=True):
        url = f"http://127.0.0.1:{self.port}{path}"
        if token:
            url += ("&" if "?" in url else "?") + f"token={self.token}"
        return url

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Shots:
    """Screenshots of one test: build/screenshots/<test>/NN-<step>.png, numbered in order."""

    def __init__(self, name):
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        if self.folder.is_dir():
            for old in self.folder.glob("*.png"):
                old.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.taken = []

    def __call__(self, target, step, **kwargs):
        """Save a screenshot of `target` (a page, or a locator for one element of it)."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        target.screenshot(path=str(path), **kwargs)
        self.taken.append(path)
        return path


# ----------------------------------------------------------------------------- notebooks

def cell_index(notebook_path, cell_id):
    """The position of the cell with this id (nbgrader's grade_id, or cell-NNN) in a notebook file."""
    cells = json.loads(Path(notebook_path).read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell.get("id") == cell_id:
            return index
    raise KeyError(f"no cell {cell_id!r} in {notebook_path}")


class Notebook:
    """The notebook open in JupyterLab's main area; cells are addressed by their id in `path` (the file)."""

    def __init__(self, page, path):
        self.page, self.path = page, Path(path)
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    @classmethod
    def open(cls, page, lab, path, workspace):
        """Open `path` (relative to the server's root) as a person does: the lab's URL for it, with the
        token, in a workspace of its own. Waits for the notebook and an idle kernel."""
        rel = Path(path).relative_to(lab.root).as_posix()
        page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{rel}?reset"))
        nb = cls(page, path)
        nb.panel.locator(".jp-Cell").first.wait_for(timeout=STARTUP_SECONDS * 1000)
        # the kernel started and connected: the status bar says so (the toolbar's indicator reads
        # idle before there is a kernel at all)
        page.locator("#jp-main-statusbar").get_by_text(re.compile(r"\|\s*Idle\s*$")).wait_for(
            timeout=STARTUP_SECONDS * 1000)
        nb.wait_idle(STARTUP_SECONDS)
        return nb

    def wait_typeset(self, at_least=20, seconds=60):
        """Wait (without failing: the caller checks) until MathJax has typeset at least this many
        formulas in the markdown cells and no display formula is left as TeX."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                """([panel, n]) => {
                    const typeset = panel.querySelectorAll('.jp-MarkdownCell mjx-container').length;
                    const text = [...panel.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')]
                        .map(el => el.textContent).join('\\n');
                    return typeset >= n && !text.includes('$$');
                }""", arg=[self.panel.element_handle(), at_least], timeout=seconds * 1000)
        except PlaywrightTimeout:
            pass
        return self.panel.locator(".jp-MarkdownCell mjx-container").count()

    def cell(self, cell_id):
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(cell_index(self.path, cell_id))

    def output(self, cell_id):
        return self.cell(cell_id).locator(".jp-OutputArea")

    def output_text(self, cell_id):
        """The text of a cell's output (the DOM's text: a cell scrolled out of view has no layout)."""
        return self.output(cell_id).text_content()

    def prompt(self, cell_id):
        return self.cell(cell_id).locator(".jp-InputArea-prompt").text_content().strip()

    def wait_idle(self, seconds=KERNEL_SECONDS):
        """Wait until the notebook's kernel is connected and idle (the toolbar's kernel status)."""
        self.page.wait_for_function(
            """panel => {
                const s = panel.querySelector('.jp-Notebook-ExecutionIndicator');
                return s && s.getAttribute('data-status') === 'idle';
            }""", arg=self.panel.element_handle(), timeout=seconds * 1000)

    def select(self, cell_id):
        """Select a cell (command mode), as a click on its prompt does."""
        cell = self.cell(cell_id)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-prompt").click()
        return cell

    def type_into(self, cell_id, source):
        """Replace the source of a code cell by `source`, as typed by a person (then back to command mode)."""
        cell = self.cell(cell_id)
        cell.scroll_into_view_if_needed()
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(source)
        self.page.keyboard.press("Escape")

    def run(self, *cell_ids, seconds=KERNEL_SECONDS):
        """Run these cells one after another (Shift+Enter on each) and wait for each to finish."""
        for cell_id in cell_ids:
            self.select(cell_id)
            self.watch(cell_id)
            self.page.keyboard.press("Shift+Enter")
            self.wait_ran(cell_id, seconds)

    def watch(self, cell_id):
        """Note, from now on, when the cell's prompt shows it running ([*]) or gets a new number."""
        self.cell(cell_id).locator(".jp-InputArea-prompt").evaluate(
            """el => {
                if (el.__watch) el.__watch.disconnect();
                el.__before = el.textContent.trim();
                el.__busy = false;
                el.__watch = new MutationObserver(() => {
                    if (el.textContent.trim() === '[*]:') el.__busy = true;
                });
                el.__watch.observe(el, {subtree: true, childList: true, characterData: true});
            }""")

    def wait_ran(self, cell_id, seconds=KERNEL_SECONDS):
        """Wait until a watched cell has run: a number in its prompt after [*] (or a new number),
        and an idle kernel."""
        self.page.wait_for_function(
            """el => {
                const text = el.textContent.trim();
                return /^\\[\\d+\\]:$/.test(text) && (el.__busy || text !== el.__before);
            }""", arg=self.cell(cell_id).locator(".jp-InputArea-prompt").element_handle(),
            timeout=seconds * 1000)
        self.wait_idle(seconds)

    def menu(self, *labels):
        """Choose a menu item: menu("Run", "Run All Cells")."""
        bar = self.page.locator(".lm-MenuBar-item").filter(has_text=re.compile(rf"^{re.escape(labels[0])}$"))
        bar.click()
        for label in labels[1:]:
            item = self.page.locator(".lm-Menu:visible .lm-Menu-item").filter(
                has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(label)}$")))
            item.click()

    def save(self):
        """Save with Ctrl+S and wait until the tab is no longer marked as changed."""
        self.panel.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.page.keyboard.press("Control+S")
        self.page.wait_for_function(
            "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
            timeout=30_000)
