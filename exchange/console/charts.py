"""Bar charts drawn on the server as inline SVG: no script, no external asset, and the figures
are in the page (each bar carries a <title> with its exact value) for screen readers and tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 200, 8, 36, 12


def yuan(fen: int) -> str:
    """ "1,234.56" from fen, by integer arithmetic."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def bar_chart(
    points: Sequence[tuple[str, int]],
    *,
    label: str | Promise,
    fmt: Callable[[int], str] = str,
    css_class: str = "console-chart",
) -> SafeString:
    """One bar per (label, value). Labels are escaped; values are integers."""
    if not points:
        return format_html('<p class="console-empty">{}</p>', _("No data for this period."))
    top = max((v for _, v in points), default=0) or 1
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT) / len(points)
    bar_w = max(slot * 0.7, 1.0)
    every = max(1, len(points) // 12)  # at most ~12 axis labels
    bars = []
    for i, (name, value) in enumerate(points):
        h = round(plot_h * value / top, 1) if value > 0 else 0
        x = round(PAD_LEFT + i * slot + (slot - bar_w) / 2, 1)
        y = round(PAD_TOP + plot_h - h, 1)
        text = name if i % every == 0 else ""
        bars.append(
            (
                x, y, round(bar_w, 1), h, name, fmt(value), value,
                round(x + bar_w / 2, 1), HEIGHT - PAD_BOTTOM + 14, text,
            )
        )  # fmt: skip
    body = format_html_join(
        "",
        '<g class="bar"><rect x="{}" y="{}" width="{}" height="{}" data-label="{}"'
        ' data-value="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="{}" text-anchor="middle">{}</text></g>',
        (
            (x, y, w, h, n, raw, n, shown, tx, ty, t)
            for x, y, w, h, n, shown, raw, tx, ty, t in bars
        ),
    )
    return format_html(
        '<svg class="{}" role="img" aria-label="{}" viewBox="0 0 {} {}"'
        ' xmlns="http://www.w3.org/2000/svg">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>{}</svg>',
        css_class,
        label,
        WIDTH,
        HEIGHT,
        PAD_LEFT,
        HEIGHT - PAD_BOTTOM,
        WIDTH,
        HEIGHT - PAD_BOTTOM,
        body,
    )
