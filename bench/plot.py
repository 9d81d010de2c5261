"""Draws the "how cost grows" figures of ``make bench`` as docs/scaling.png (matplotlib: the bench extra,
``pip install -e '.[bench]'``, which ``make bench`` installs)."""

from __future__ import annotations

from pathlib import Path

#: Panel title -> (the figures it draws, x label, whether both axes are logarithmic; else the y axis
#: starts at 0, so noise does not pass for a trend).
PANELS = {
    "Full dump (include_connections=1)": (
        ("full dump, first (s)", "full dump, again (s)"),
        "clients in the registry",
        True,
    ),
    "Worker memory growth over a dump": (("worker memory growth (MB)",), "clients in the registry", True),
    "Feed writes (POST /api/v1/batch)": (("feed writes (events/s)",), "clients in the registry", False),
    "Event delivery to every open stream": (
        ("stream delivery p50 (ms)", "stream delivery max (ms)"),
        "open streams (4 workers)",
        False,
    ),
}


def missing() -> str | None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'; make bench installs it)"
    return None


def draw(figures: dict[str, list[tuple[int, float]]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    for axis, (panel, (names, xlabel, logarithmic)) in zip(axes.flat, PANELS.items(), strict=True):
        for name in names:
            points = figures.get(name) or []
            if points:
                axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=name)
        if logarithmic:
            axis.set_xscale("log")
            axis.set_yscale("log")
        else:
            if "clients" in xlabel:
                axis.set_xscale("log")
            axis.set_ylim(bottom=0)
        axis.set_title(panel)
        axis.set_xlabel(xlabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle(title)
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
    return path
