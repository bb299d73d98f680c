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
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from catalogue.formatting import french_number  # noqa: E402
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
UNITS = ["octet", "Ko", "Mo", "Go", "To", "Po"]


def bytes_axis(axis, largest: float) -> None:
    """One unit for the whole axis, chosen from its largest value, and round ticks in it:
    « 0 Mo, 2 Mo, 4 Mo », never « 0 octets, 1 octets, 1 octets » (ticks rounded apart)."""
    power = 0
    while largest >= 1000 ** (power + 1) and power < len(UNITS) - 1:
        power += 1
    scale = 1000 ** power
    # Whole bytes only, and ticks at 1, 2, 2.5 or 5 × a power of ten of the chosen unit.
    axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], integer=power == 0, min_n_ticks=2))

    def label(value: float, _pos) -> str:
        shown = value / scale
        text = french_number(shown, 2).rstrip("0").rstrip(",")  # « 1,5 », « 2 », never « 2,00 »
        unit = UNITS[power] + ("s" if power == 0 and abs(shown) >= 2 else "")
        return f"{text} {unit}"

    axis.set_major_formatter(FuncFormatter(label))


def _bytes_limits(set_lim, values: list[int]) -> None:
    # An empty chart (every value 0) still gets a readable 0 – 1 axis.
    set_lim(0, None if max(values, default=0) > 0 else 1)


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
    _bytes_limits(ax.set_xlim, values)
    bytes_axis(ax.xaxis, max(values, default=0))
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
    _bytes_limits(ax.set_ylim, bottom)
    bytes_axis(ax.yaxis, max(bottom, default=0))
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
    _bytes_limits(ax.set_xlim, left)
    bytes_axis(ax.xaxis, max(left, default=0))
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
