"""Figures the notebooks share: small arrays drawn as tables of numbers.

    draw_grid(ax, values, title, boxes=[((row, col), (height, width), colour)], shade=mask)
"""

import numpy as np

__all__ = ["draw_grid"]


def draw_grid(ax, values, title="", boxes=(), shade=None, numbers=True, fmt="{:g}", fontsize=12,
              dim_zeros=False, alpha=0.3):
    """Draw a 2-D array on `ax` as a table: one cell per entry, its value written in it.

    values: (H, W).
    boxes: ((row, col), (height, width), colour) blocks to fill lightly: a window, a kernel's taps.
    shade: (H, W) booleans, cells to fill grey (the padding around an image).
    numbers: False draws the values as colours instead (blue below zero, red above), for arrays too
        big to read as numbers.
    dim_zeros: write zeros in grey, so the non-zero pattern of a sparse matrix stands out.
    """
    from matplotlib.patches import Rectangle

    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"draw_grid draws a 2-D array; got shape {values.shape}")
    if numbers or shade is not None:
        background = np.ones(values.shape) if shade is None else np.where(shade, 0.82, 1.0)
        ax.imshow(background, cmap="gray", vmin=0, vmax=1)
    else:
        lim = max(float(np.abs(values).max()), 1e-12)
        ax.imshow(values.astype(float), cmap="RdBu_r", vmin=-lim, vmax=lim)
    for (r, c), (h, w), colour in boxes:
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, color=colour, alpha=alpha, lw=0))
    if numbers:
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                    color="0.65" if dim_zeros and v == 0 else "black")
    # major ticks on the cells and minor ones on the lines between them, where the grid is drawn:
    # without the major ones, matplotlib drops the minor ticks that fall on its own major ticks
    ax.set_xticks(np.arange(values.shape[1]))
    ax.set_yticks(np.arange(values.shape[0]))
    ax.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    ax.grid(which="minor", color="0.6")
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title)
