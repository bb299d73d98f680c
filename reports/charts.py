"""Charts drawn by matplotlib as inline SVG (same markup in HTML and PDF), at rendering:
the report context holds each chart as data (reports.context.Chart), `draw_all` draws them.

Labels come from folder and commune names: matplotlib writes them as escaped SVG text,
so a name such as <script> stays text, and mathtext is off, so a `$` in a name is a
dollar sign, never a formula to parse. Output is deterministic (no date metadata).
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from catalogue.formatting import french_bytes  # noqa: E402
from reports.context import Chart  # noqa: E402
from reports.safetext import visible_controls  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
    "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "catalogage",
    # Names are data: "Saint-$\\frac$" must print as typed, not fail as mathtext.
    "text.parse_math": False, "text.usetex": False}
COLORS = ["#1f4e79", "#c55a11", "#7f7f7f", "#548235", "#bf9000"]
_bytes_axis = FuncFormatter(lambda v, _: french_bytes(int(v)))


def _styled(plot):
    """Draw inside our own rc context: a notebook's rcParams cannot turn mathtext back on."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)
    return wrapper


def _svg(fig, key: str) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = out.getvalue()
    text = text[text.index("<svg"):]  # inline: no XML prolog or doctype
    # Several charts share one page: give each its own ids, or a clip path of one
    # chart would apply to another.
    prefix = "c" + hashlib.md5(key.encode("utf-8")).hexdigest()[:8] + "-"
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    text = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}{m.group(1)})", text)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', text)


def _short(label: str, width: int = 38) -> str:
    label = visible_controls(label)
    return label if len(label) <= width else label[: width - 1] + "…"


@_styled
def barh_bytes(labels: list[str], values: list[int], title: str) -> str:
    """Horizontal bars of volumes, largest on top."""
    fig, ax = plt.subplots(figsize=(7, 0.32 * max(len(labels), 3) + 0.8))
    ax.barh([_short(label or "(racine)") for label in labels][::-1], values[::-1], color=COLORS[0])
    ax.xaxis.set_major_formatter(_bytes_axis)
    ax.set_title(title, loc="left")
    return _svg(fig, title)


@_styled
def bars_by_year(years: list[int], series: dict[str, list[int]], title: str) -> str:
    """Stacked bars per year, one series per label (volumes)."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    bottom = [0] * len(years)
    for i, (label, values) in enumerate(series.items()):
        ax.bar([str(y) for y in years], values, bottom=bottom, label=label, color=COLORS[i % len(COLORS)])
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.yaxis.set_major_formatter(_bytes_axis)
    if len(years) > 12:
        ax.tick_params(axis="x", rotation=90)
    if len(series) > 1:
        ax.legend(frameon=False)
    ax.set_title(title, loc="left")
    return _svg(fig, title)


@_styled
def stacked_barh(labels: list[str], series: dict[str, list[int]], title: str) -> str:
    """Horizontal stacked bars (e.g. per commune: useful volume, duplicates, déchets)."""
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(len(labels), 3) + 0.9))
    names = [visible_controls(label) for label in labels]
    left = [0] * len(labels)
    for i, (label, values) in enumerate(series.items()):
        ax.barh(names[::-1], values[::-1], left=left[::-1], label=label, color=COLORS[i % len(COLORS)])
        left = [a + b for a, b in zip(left, values)]
    ax.xaxis.set_major_formatter(_bytes_axis)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title, loc="left")
    return _svg(fig, title)


def draw(chart: Chart | None) -> str | None:
    """The chart as inline SVG, or None when there is nothing to draw."""
    if chart is None:
        return None
    if chart.kind == "barh_bytes":
        (values,) = chart.series.values()
        return barh_bytes(chart.labels, values, chart.title)
    if chart.kind == "bars_by_year":
        return bars_by_year(chart.labels, chart.series, chart.title)
    return stacked_barh(chart.labels, chart.series, chart.title)


def draw_all(charts: dict[str, Chart | None]) -> dict[str, str | None]:
    return {name: draw(chart) for name, chart in charts.items()}
