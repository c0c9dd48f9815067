"""One self-contained HTML page per run: every step's screen, what was done on it, and why.

The page needs no network and no other file: CSS and the little script are
inline, screenshots are embedded as downscaled JPEG data URLs, and each
action is drawn as an SVG overlay in screenshot pixels (``viewBox`` = the
recorded screen size), so marks stay exact at any zoom.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from datetime import datetime, timezone
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.models import (
    Click,
    Drag,
    LongPress,
    Move,
    Scroll,
    action_to_dict,
)
from qwen_gui_agent.errors import ScreenshotError
from qwen_gui_agent.trajectories.reader import Trajectory, load_trajectory

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.trajectories.format import StepRecord

REPORT_FILE = "report.html"
TEMPLATE = "report_template.html"


def write_report(
    run_path: Path | str, out: Path | str | None = None, *, max_width: int = 1280, quality: int = 80
) -> Path:
    """Write the HTML report of the run in ``run_path``; return its path.

    Keyword arguments (one CLI flag each): ``out`` is the HTML file (default
    ``report.html`` inside the run folder). ``max_width`` and ``quality``
    bound the embedded screenshots (pixels wide, JPEG quality) to keep the
    file a sane size; overlays are drawn in the original pixels regardless.
    """
    trajectory = load_trajectory(run_path)
    target = Path(out) if out is not None else trajectory.path / REPORT_FILE
    template = files("qwen_gui_agent.trajectories").joinpath(TEMPLATE).read_text(encoding="utf-8")
    steps = "\n".join(_step_html(trajectory, step, max_width, quality) for step in trajectory.steps)
    html = _fill(template, {
        "title": escape(f"Run report: {_clip(trajectory.task, 80)}"),
        "summary": _summary_html(trajectory),
        "steps": steps or '<p class="missing">No steps were recorded.</p>',
    })
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target


def _fill(template: str, slots: dict[str, str]) -> str:
    """Put each ``{{name}}`` slot's HTML in the template, in one pass.

    Chained ``str.replace`` would also fill slot names that model text (a task,
    an answer, a thought) happens to contain, e.g. pasting every step into an answer.
    """
    return re.sub(r"\{\{(\w+)\}\}", lambda m: slots.get(m.group(1), m.group(0)), template)


def _summary_html(trajectory: Trajectory) -> str:
    header, summary = trajectory.header, trajectory.summary
    status = trajectory.status
    started = datetime.fromtimestamp(header.created, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    meta = [
        f"env: {escape(header.env)}",
        f"steps: {len(trajectory.steps)}",
        f"started: {started}",
    ]
    if summary is not None:
        meta.append(f"duration: {summary.time - header.created:.1f} s")
    if trajectory.torn:
        meta.append("last line torn (the writer was killed)")
    details = {
        key: value
        for key, value in header.model_dump(exclude={"type", "task"}).items()
        if value not in (None, {}, [])
    }
    rows = [
        f'<h1>{escape(_clip(header.task, 300))} <span class="badge {escape(status)}" '
        f'id="run-status">{escape(status)}</span></h1>',
        f'<div class="meta">{"".join(f"<span>{m}</span>" for m in meta)}</div>',
    ]
    if summary is not None and summary.answer:
        rows.append(f'<div><b>Answer:</b> {escape(summary.answer)}</div>')
    if summary is not None and summary.message:
        rows.append(f'<div class="meta">{escape(summary.message)}</div>')
    settings = json.dumps(details, ensure_ascii=False, indent=1)
    rows.append(f"<details><summary>Run settings</summary><pre>{escape(settings)}</pre></details>")
    return "\n".join(rows)


def _step_html(trajectory: Trajectory, step: StepRecord, max_width: int, quality: int) -> str:
    width, height = step.screen_size
    try:
        image = trajectory.image(step)
    except ScreenshotError as exc:  # one bad image does not spoil the report
        image, unusable = None, f"screenshot not shown: {exc}"
    else:
        unusable = "screenshot missing (the run ended before it was written)"
    if image is None:
        shot = f'<div class="missing">{escape(unusable)}</div>'
    else:
        marks = "".join(_marks(action, width, height) for action in step.actions)
        shot = (
            f'<div class="frame"><img alt="step {step.index} screenshot" width="{width}" '
            f'height="{height}" src="{_data_url(image, max_width, quality)}">'
            f'<svg class="overlay" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
            f'xmlns="http://www.w3.org/2000/svg">{marks}</svg></div>'
        )
    state, label = _state(step)
    return (
        f'<section class="step" id="step-{step.index}" data-index="{step.index}">'
        f'<h2>Step {step.index} <span class="badge {state}">{escape(label)}</span></h2>'
        f"<div>{shot}</div><div>{_details(step)}</div></section>"
    )


def _state(step: StepRecord) -> tuple[str, str]:
    """The step badge's colour class and text; a step that ended the run wears the run's status."""
    ended = step.extra.get("ended_run")
    if step.error is not None:
        return "error", "error" if step.decided else "no action"
    if step.executed:
        return "ok", "executed"
    if isinstance(ended, str):
        return _STATUS_CLASS.get(ended, "skipped"), f"ended: {ended}"
    return "skipped", "not executed"


_STATUS_CLASS = {"success": "success", "completed": "success", "failure": "failure",
                 "error": "error", "mismatch": "failure"}
"""Badge colours of the statuses that are not 'stopped for a reason' (amber)."""


def _details(step: StepRecord) -> str:
    rows: list[tuple[str, str]] = []
    meta = step.observation
    where = " · ".join(escape(v) for v in (meta.title, meta.url, meta.app) if v)
    if where:
        rows.append(("screen", where))
    if step.thought:
        rows.append(("thought", escape(step.thought)))
    if step.actions:
        actions = [action_to_dict(a) for a in step.actions]
        rows.append(("action", f'<pre class="actions">{_json(actions)}</pre>'))
    if step.model_calls:
        size = (f'<div class="note">in pixels of the {step.model_size[0]}x{step.model_size[1]} '
                "image the model saw</div>" if step.model_size else "")
        rows.append(("tool call", f"<pre>{_json(step.model_calls)}</pre>{size}"))
    if step.outcome is not None:
        info = f"<pre>{_json(step.outcome.info)}</pre>" if step.outcome.info else ""
        rows.append(("outcome", f"done in {step.outcome.duration_s * 1000:.0f} ms{info}"))
    if step.error:
        rows.append(("error", f'<pre class="error">{escape(step.error)}</pre>'))
    if step.feedback and step.feedback != step.error:
        rows.append(("feedback", f"<pre>{escape(step.feedback)}</pre>"))
    timings = {**step.timings, **{f"model {k}": v for k, v in step.model_timings.items()}}
    if timings:
        cells = "".join(
            f'<tr><td>{escape(k)}</td><td class="ms">{v * 1000:.1f} ms</td></tr>'
            for k, v in timings.items()
        )
        rows.append(("timings", f'<table class="timings">{cells}</table>'))
    if step.prompt_tokens is not None or step.output_tokens is not None:
        rows.append(("tokens", f"{step.prompt_tokens} in, {step.output_tokens} out"))
    if step.extra:
        rows.append(("extra", f"<pre>{_json(step.extra)}</pre>"))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    raw = f"<details><summary>raw model output</summary><pre>{escape(step.raw)}</pre></details>" \
        if step.raw else ""
    return f"<dl>{body}</dl>{raw}"


def _marks(action: Action, width: int, height: int) -> str:
    """SVG for one action in screenshot pixels (nothing for actions without a place)."""
    r = max(6.0, 0.012 * max(width, height))
    if isinstance(action, Click):
        label = {1: "", 2: "×2", 3: "×3"}[action.count] + ("" if action.button == "left" else f" {action.button}")
        return _target(action.x, action.y, r, "click") + _label(action.x, action.y, r, label)
    if isinstance(action, LongPress):
        return (_target(action.x, action.y, r, "long_press")
                + f'<circle class="mark" cx="{action.x}" cy="{action.y}" r="{r * 1.8:.1f}"/>'
                + _label(action.x, action.y, r * 1.8, f"hold {action.duration:g}s"))
    if isinstance(action, Move):
        return (f'<circle class="mark move" data-action="move" cx="{action.x}" cy="{action.y}" '
                f'r="{r:.1f}" stroke-dasharray="4 3"/>')
    if isinstance(action, Drag):
        return (_arrow(action.x, action.y, action.to_x, action.to_y, r, "drag")
                + f'<circle class="mark dot" cx="{action.x}" cy="{action.y}" r="{r / 2:.1f}"/>')
    if isinstance(action, Scroll):
        x = action.x if action.x is not None else width // 2
        y = action.y if action.y is not None else height // 2
        length = 0.15 * min(width, height)
        norm = math.hypot(action.dx, action.dy)
        tx, ty = x + action.dx / norm * length, y + action.dy / norm * length
        return (_arrow(x, y, tx, ty, r, "scroll")
                + _label(x, y, r, f"scroll {action.dx:+d},{action.dy:+d}"))
    return ""


def _target(x: int, y: int, r: float, kind: str) -> str:
    return (
        f'<g class="mark-group" data-action="{kind}">'
        f'<circle class="mark" cx="{x}" cy="{y}" r="{r:.1f}"/>'
        f'<circle class="mark dot" cx="{x}" cy="{y}" r="{r / 4:.1f}"/>'
        f'<line class="mark" x1="{x - 2 * r:.1f}" y1="{y}" x2="{x - r:.1f}" y2="{y}"/>'
        f'<line class="mark" x1="{x + r:.1f}" y1="{y}" x2="{x + 2 * r:.1f}" y2="{y}"/>'
        f'<line class="mark" x1="{x}" y1="{y - 2 * r:.1f}" x2="{x}" y2="{y - r:.1f}"/>'
        f'<line class="mark" x1="{x}" y1="{y + r:.1f}" x2="{x}" y2="{y + 2 * r:.1f}"/></g>'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, r: float, kind: str) -> str:
    angle = math.atan2(y2 - y1, x2 - x1)
    head = [
        (x2 - r * 1.6 * math.cos(angle - s * 0.45), y2 - r * 1.6 * math.sin(angle - s * 0.45))
        for s in (1, -1)
    ]
    return (
        f'<g class="mark-group" data-action="{kind}">'
        f'<line class="mark" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
        f'<polyline class="mark end" points="{head[0][0]:.1f},{head[0][1]:.1f} {x2:.1f},{y2:.1f} '
        f'{head[1][0]:.1f},{head[1][1]:.1f}"/></g>'
    )


def _label(x: float, y: float, r: float, text: str) -> str:
    if not text:
        return ""
    return f'<text class="mark-label" x="{x + r * 1.3:.1f}" y="{y - r * 1.3:.1f}">{escape(text)}</text>'


def _data_url(image: Image, max_width: int, quality: int) -> str:
    """The screenshot as a JPEG data URL, at most ``max_width`` pixels wide."""
    from PIL import Image as PILImage

    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _json(value: Any) -> str:
    """Compact JSON, one line per list item: actions and calls read at a glance."""
    items = value if isinstance(value, list) else [value]
    return escape("\n".join(json.dumps(item, ensure_ascii=False) for item in items))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
