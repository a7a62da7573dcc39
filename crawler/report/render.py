"""Render the exposure report (the dict from :mod:`crawler.report.compute`) as HTML, Markdown or JSON.

- JSON: the report dict with a stable key order, indented by 2 (schema: ``docs/report-schema.md``).
- Markdown: headline numbers, the still-live table first, then the rest; for chat and email.
- HTML: one self-contained file. CSS is inline, charts are inline SVG drawn by pygal (its JavaScript
  and comments stripped), and nothing is fetched: no scripts, fonts, images or stylesheets.

Templates are Jinja2 files in ``crawler/data/templates/``, read through the package loader (autoescaped
for HTML). Only redacted tokens reach a template: the report never holds a plaintext token.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import pygal
from markupsafe import Markup
from pygal.style import Style

from crawler.report.compute import Period, load_report

if TYPE_CHECKING:
    from crawler.store.database import Store

logger = logging.getLogger(__name__)

Format = Literal["html", "md", "json"]
FORMATS: tuple[Format, ...] = ("html", "md", "json")
_SAFE_URL = re.compile(r"https?://[^\s<>\"'`]+")  # a whole http(s) URL without quotes, spaces or brackets
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")  # characters Markdown (and Slack mrkdwn) would interpret
_STRIP = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.S)  # pygal's comments and its inline config script
_UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
TIME_FLOOR = 0.01
_TIME_TICKS = (1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)

CHART_STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#334155",
    foreground_strong="#0f172a", foreground_subtle="#e2e8f0", opacity="0.9", opacity_hover="1",
    value_colors=("#ffffff", "#ffffff"),
    colors=("#2563eb", "#dc2626", "#f59e0b", "#0d9488", "#7c3aed", "#db2777", "#65a30d", "#475569"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
    title_font_size=18, label_font_size=13, major_label_font_size=13, value_font_size=13,
    legend_font_size=13, tooltip_font_size=13,
)


def human_duration(value: float | None) -> str:
    """``None`` → ``—``; otherwise the two largest units: ``42s``, ``4m 12s``, ``3d 4h``."""
    if value is None:
        return "—"
    if 0 < value < 1:
        return f"{value * 1000:.0f}ms"  # leak-to-notify is often sub-second: "0s" would hide it
    left, parts = round(value), list[str]()
    for size, unit in _UNITS:
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])


def when(value: str | None) -> str:
    """``2026-11-28T22:00:00Z`` → ``Sat 28 Nov 22:00``."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).strftime("%a %d %b %H:%M")


def safe_url(value: str | None) -> str:
    """The URL if it is a plain http(s) URL (safe in an ``href``), else empty."""
    return value if value and _SAFE_URL.fullmatch(value) else ""


def md(value: object) -> str:
    """Escape text for a Markdown table cell."""
    text = " ".join(str("" if value is None else value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("crawler", "data/templates"), undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(duration=human_duration, when=when, safe_url=safe_url, md=md)
    return env


# -- charts -------------------------------------------------------------------------------------


def _svg(chart: Any) -> Markup:
    """pygal's SVG without its comments and inline script; its labels are already XML-escaped."""
    return Markup(_STRIP.sub("", chart.render(is_unicode=True)))


def _chart(kind: Any, **config: Any) -> Any:
    options: dict[str, Any] = {"show_legend": False, "print_values": True, "margin": 12, "width": 560,
                               "height": 330, "show_x_guides": False, "truncate_label": -1, **config}
    return kind(js=[], disable_xml_declaration=True, style=CHART_STYLE, **options)


def _count_axis(values: Iterable[float]) -> dict[str, Any]:
    """Whole-number ticks from 0 (counts are never fractional): about five steps."""
    top = max(max(values, default=0), 1)
    step = max(1, math.ceil(top / 5))
    ticks = list(range(0, math.ceil(top / step) * step + 1, step))
    return {"y_labels": ticks, "range": (0, ticks[-1])}


def _time_axis(values: Iterable[float]) -> dict[str, Any]:
    """A log axis in seconds from 1 s (down to 10 ms when something was faster), ticked at round durations
    (up to 30d) and labelled like ``10m``."""
    got = [max(v, TIME_FLOOR) for v in values] or [1.0]
    lo = next(t for t in (TIME_FLOOR, 0.1, 1.0) if t == 1.0 or min(got) < t * 10)
    hi = min([t for t in _TIME_TICKS if t >= max(got)], default=_TIME_TICKS[-1])
    ticks = [t for t in (TIME_FLOOR, 0.1) if t >= lo] + [t for t in _TIME_TICKS if t <= hi]
    return {"logarithmic": True, "y_labels": ticks, "range": (lo, hi), "zero": lo,
            "value_formatter": human_duration}


def _counts_chart(kind: Any, rows: Sequence[dict[str, Any]], key: str) -> Markup | None:
    if not rows:
        return None
    counts = [r["count"] for r in rows]
    chart = _chart(kind, **_count_axis(counts), value_formatter=lambda v: f"{v:.0f}")
    chart.x_labels = [str(r[key]) for r in rows]
    chart.add("tokens", counts)
    return _svg(chart)


def _timings_chart(timings: dict[str, Any]) -> Markup | None:
    stages = [("detect", "time_to_detect"), ("notify", "time_to_notify"), ("revoke", "time_to_revoke")]
    if not any(timings[k]["count"] for _, k in stages):
        return None
    values = {pct: [timings[k][pct] for _, k in stages] for pct in ("p50", "p90")}
    chart = _chart(pygal.Bar, show_legend=True, legend_at_bottom=True,
                   **_time_axis(v for vs in values.values() for v in vs if v is not None))
    chart.x_labels = [name for name, _ in stages]
    for pct, series in values.items():
        # bars start at the axis floor; each is labelled with its own measured value
        chart.add(pct, [None if v is None else {"value": max(v, TIME_FLOOR),
                                                "formatter": lambda _, v=v: human_duration(v)} for v in series])
    return _svg(chart)


def _trend_chart(trend: Sequence[dict[str, Any]]) -> Markup:
    new, live = [w["new_exposures"] for w in trend], [w["live_at_end"] for w in trend]
    chart = _chart(pygal.Line, show_legend=True, legend_at_bottom=True, print_values=False, dots_size=5,
                   stroke_style={"width": 3}, value_formatter=lambda v: f"{v:.0f}", **_count_axis(new + live))
    chart.x_labels = [w["week"].split("-")[-1] for w in trend]
    chart.add("new exposures", new)
    chart.add("live at week end", live)
    return _svg(chart)


def charts(report: dict[str, Any]) -> dict[str, Markup | None]:
    """The four inline SVG charts; ``None`` where there is nothing to draw."""
    new = report["new_exposures"]
    return {
        "by_source": _counts_chart(pygal.Bar, new["by_source"], "source"),
        "by_rule": _counts_chart(pygal.HorizontalBar, new["by_rule"], "rule"),
        "trend": _trend_chart(report["trend"]),
        "timings": _timings_chart(report["timings"]),
    }


# -- formats ------------------------------------------------------------------------------------


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def render(report: dict[str, Any], fmt: Format) -> str:
    """The report as ``html``, ``md`` or ``json`` text."""
    if fmt == "json":
        return to_json(report)
    if fmt == "md":
        return _env().get_template("report.md.j2").render(r=report)
    if fmt == "html":
        return _env().get_template("report.html.j2").render(r=report, charts=charts(report))
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def summary_text(report: dict[str, Any], limit: int = 5) -> str:
    """A short plain-text summary for the chat notifier (redacted tokens only)."""
    t, period = report["totals"], report["period"]
    critical = next((s["count"] for s in report["new_exposures"]["by_severity"] if s["severity"] == "critical"), 0)
    lines = [
        f"leakpatrol exposure report {period['label']}: {t['new_exposures']} new exposure(s)"
        f" ({critical} critical), {t['still_live']} still live,"
        f" median time to notify {human_duration(report['timings']['time_to_notify']['p50'])},"
        f" {t['dead_letters']} dead letter(s).",
    ]
    for tok in report["still_live"][:limit]:
        lines.append(f"• LIVE {tok['redacted']} ({tok['rule']}, {tok['severity']}) seen on {tok['source']},"
                     f" age {human_duration(tok['age_seconds'])}, delivery {tok['delivery']}")
    if len(report["still_live"]) > limit:
        lines.append(f"… and {len(report['still_live']) - limit} more live token(s)")
    return "\n".join(lines)


def report_path(out_dir: Path, label: str, fmt: Format) -> Path:
    return out_dir / f"leakpatrol-report-{label}.{fmt}"


def write_rendered(report: dict[str, Any], out_dir: Path, formats: Iterable[Format] = FORMATS) -> list[Path]:
    """Write an already computed report as ``leakpatrol-report-<label>.<ext>``, one file per format."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = report_path(out_dir, report["period"]["label"], fmt)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(render(report, fmt), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written report
        paths.append(path)
    logger.info("wrote the %s exposure report: %s", report["period"]["label"], ", ".join(map(str, paths)))
    return paths


def write_report(store: Store, period: Period, now: datetime, out_dir: Path,
                 formats: Iterable[Format] = FORMATS) -> list[Path]:
    """Compute the report from the store and write it in each format (the weekly job, the demo)."""
    return write_rendered(load_report(store, period, now), out_dir, formats)
