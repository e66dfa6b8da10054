"""The project's own files agree with each other: environment.yml with pyproject.toml, CI with the README."""

import re
import tomllib

import yaml

from conftest import REPO


def normalise(req):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}

    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # programs, not Python packages: the grader's sandbox
    system = {"bubblewrap"}
    listed = {normalise(d) for d in conda if not d.startswith(("python=", "pip")) and d not in system}
    listed |= {normalise(d) for d in pip if not d.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"
    assert any(d.startswith("-e .") for d in pip), "environment.yml must install cnnkit itself"


def test_ci_installs_pinned_torch_first_and_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    torch_at = ci.index("torch==2.13.0")
    assert torch_at < ci.index('-e ".[dev]"'), "torch must be installed (pinned) before cnnkit"
    assert "make test" in ci and "make test" in readme
    assert "make run" in readme
    assert "bubblewrap" in ci, "CI must grade with the kernel sandbox in force"


def test_main_job_prints_the_lecture_numbers(capsys, monkeypatch, tmp_path):
    import cnnkit.__main__ as tour
    from cnnkit import benchmark

    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))           # empty: the tour must say so, not fail
    monkeypatch.setattr(benchmark, "LAYERS", [("tiny", (2, 3, 8, 8), (4, 3, 3, 3), 1, 1)])
    assert tour.main([]) == 0
    out = capsys.readouterr().out
    assert "[5, 16, 34, 52, 45, 28]" in out
    assert "[[19, 25], [37, 43]]" in out
    assert "[[6, 8], [3, 4]]" in out
    for total in ("61,706", "62,378,344", "138,357,544", "143,667,240"):
        assert total in out
    assert "not downloaded yet" in out
    assert "geometric mean" in out
