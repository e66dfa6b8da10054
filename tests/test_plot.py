"""The notebooks' shared figure helper."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnkit.plot import draw_grid  # noqa: E402


def test_draw_grid_writes_every_value_and_fills_the_boxes():
    fig, ax = plt.subplots()
    draw_grid(ax, np.arange(6).reshape(2, 3), "x", boxes=[((0, 1), (2, 2), "tab:orange")], fmt="{:.1f}")
    assert [t.get_text() for t in ax.texts] == ["0.0", "1.0", "2.0", "3.0", "4.0", "5.0"]
    (box,) = ax.patches
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (0.5, -0.5, 2, 2)
    # a grid line between every pair of cells: the minor ticks sit on the cell borders
    assert list(ax.get_xticks(minor=True)) == [-0.5, 0.5, 1.5, 2.5]
    assert ax.get_title() == "x"
    plt.close(fig)


def test_draw_grid_draws_big_arrays_as_colours_and_refuses_other_ranks():
    fig, ax = plt.subplots()
    draw_grid(ax, np.linspace(-1, 1, 400).reshape(20, 20), numbers=False)
    assert not ax.texts and ax.images[0].get_cmap().name == "RdBu_r"
    with pytest.raises(ValueError, match="2-D"):
        draw_grid(ax, np.zeros((2, 2, 2)))
    plt.close(fig)
