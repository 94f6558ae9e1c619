"""Charts for docs/benchmarks.md (matplotlib, Debian's python3-matplotlib): one small panel per
figure, absolute values in that figure's own unit, the servers side by side, and the direction of
"better" in each panel's title. Ratios to one server would draw a near-zero baseline as the scale
(raw epoll's 0.05 KiB per idle connection made 0.8 and 4.6 KiB look alike)."""
import math

import matplotlib

matplotlib.use("Agg")  # no display on the benchmark machines
import matplotlib.pyplot as plt  # noqa: E402

OURS = "#d62728"
OTHERS = "#7f99b3"
BASELINE = "#555555"


def panels(path, title, figures, columns=3):
    """figures: [{"title", "unit", "better": "lower"|"higher", "values": {server: value}}].
    Writes an SVG to `path`; the project's server is drawn in red, the raw-epoll limit in grey."""
    rows = math.ceil(len(figures) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.6 * rows), squeeze=False)
    for ax in axes.flat[len(figures):]:
        ax.axis("off")
    for ax, f in zip(axes.flat, figures):
        names = list(f["values"])
        values = [f["values"][n] for n in names]
        colors = [OURS if n.startswith("tcpsocket") else BASELINE if n == "raw epoll" else OTHERS
                  for n in names]
        y = range(len(names))
        ax.barh(y, values, color=colors)
        ax.set_yticks(list(y), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title("%s\n%s (%s is better)" % (f["title"], f["unit"], f["better"]), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        top = max(values) if values else 1
        ax.set_xlim(0, top * 1.3)
        for i, v in enumerate(values):
            ax.text(v + top * 0.02, i, _short(v), va="center", fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.rcParams["svg.hashsalt"] = "tcpsocket"  # stable ids: the file changes only with the figures
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)


def _short(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v if v >= 10 else "%.2f" % v if v >= 0.1 else "%.3f" % v
