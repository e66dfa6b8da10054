"""Per-student feedback: one HTML page per notebook, where nbgrader keeps feedback.

It says, for each graded function, the points, how many checks passed, and for the first failing
checks what was expected, what came back, on which input, and the likely mistake. It never shows
the hidden tests' code (there is none to show: the checks are data, judged by the grader).
"""

import html

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; } td, th { padding: .3rem .8rem; border-bottom: 1px solid #ddd; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.full { color: #1a7f37; } .part { color: #9a6700; } .none { color: #cf222e; }
pre { background: #f6f8fa; padding: .8rem; overflow-x: auto; white-space: pre-wrap; font-size: .85rem; border-radius: 4px; }
.box { border-left: 4px solid #cf222e; padding: .2rem 1rem; background: #fff5f5; }
.notes li { margin: .3rem 0; }
"""


def _cls(score, points):
    return "full" if score >= points else "none" if score == 0 else "part"


def render(result):
    """The feedback page (HTML) of a SubmissionResult."""
    e = html.escape
    r = result
    title = f"{r.assignment} / {r.notebook}: feedback for {r.student}"
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
           f"<style>{STYLE}</style></head><body>", f"<h1>{e(title)}</h1>",
           f"<p><b>Score: <span class='{_cls(r.score, r.max_score)}'>{r.score:g} / {r.max_score:g}"
           f"</span></b></p>"]
    if r.reason:
        out.append(f"<div class='box'><p>{e(r.reason)}</p></div>")
    out.append("<table><tr><th>function</th><th>checks passed</th><th>points</th></tr>")
    for f in r.functions:
        out.append(f"<tr><td><code>{e(f.name)}</code></td><td class='num'>{f.passed} / {f.total}</td>"
                   f"<td class='num {_cls(f.score, f.points)}'>{f.score:g} / {f.points:g}</td></tr>")
    out.append("</table>")
    for f in r.functions:
        if f.score >= f.points and not f.forbidden:
            continue
        out.append(f"<h2><code>{e(f.name)}</code></h2>")
        if f.forbidden:
            out.append("<div class='box'><p>No credit: a graded function may not use the course's own "
                       "implementations, <code>numpy.convolve</code>/<code>correlate</code>, "
                       "<code>scipy.signal</code>/<code>scipy.ndimage</code> or PyTorch's convolution and "
                       "pooling (see the assignment's rules).</p><ul>"
                       + "".join(f"<li>{e(x)}</li>" for x in f.forbidden) + "</ul></div>")
        if f.messages:
            out.append(f"<p>The first failing check{'s' if len(f.messages) > 1 else ''}:</p>")
            out += [f"<pre>{e(m)}</pre>" for m in f.messages]
    if r.cell_errors:
        out.append("<h2>Cells that raised an error while grading</h2><ul class='notes'>")
        out += [f"<li><code>{e(str(c.cell))}</code>: {e(str(c.error))}</li>" for c in r.cell_errors]
        out.append("</ul>")
    if r.notes:
        out.append("<h2>Notes</h2><ul class='notes'>" + "".join(f"<li>{e(n)}</li>" for n in r.notes) + "</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)
