"""A dependency-free SVG bar chart for docs/benchmarks.md: every figure as a ratio to raw epoll."""

COLORS = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c"]
CLIP = 3.0  # longer bars are cut at this ratio; the value is still printed


def ratio_chart(rows, names, title):
    """rows: [(label, {name: ratio})]; one group of bars per row, one bar per name."""
    bar, gap, left, width = 12, 10, 330, 360
    group = bar * len(names) + gap
    height = 60 + group * len(rows) + 20 * len(names)
    scale = width / CLIP
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (left + width + 70, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14" font-weight="bold">%s</text>' % title]
    top = 40
    for label, ratios in rows:
        out.append('<text x="10" y="%d">%s</text>' % (top + group / 2, label))
        for i, name in enumerate(names):
            value = ratios[name]
            y = top + i * bar
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (
                left, y, min(value, CLIP) * scale, bar - 2, COLORS[i % len(COLORS)]))
            out.append('<text x="%.1f" y="%d" font-size="10">%.2f%s</text>' % (
                left + min(value, CLIP) * scale + 4, y + bar - 3, value, " (cut)" if value > CLIP else ""))
        top += group
    x1 = left + scale
    out.append('<line x1="%.1f" y1="36" x2="%.1f" y2="%d" stroke="black" stroke-dasharray="4 3"/>' % (x1, x1, top))
    out.append('<text x="%.1f" y="34" font-size="10">1.0 = raw epoll</text>' % (x1 - 30))
    for i, name in enumerate(names):
        y = top + 12 + i * 18
        out.append('<rect x="10" y="%d" width="12" height="12" fill="%s"/>' % (y - 10, COLORS[i % len(COLORS)]))
        out.append('<text x="28" y="%d">%s</text>' % (y, name))
    out.append("</svg>")
    return "\n".join(out) + "\n"
