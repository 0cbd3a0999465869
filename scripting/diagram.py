"""The flow of a script version as an SVG diagram, drawn on the server (no JavaScript).

Steps stand in rows by their distance from the first step; arrows show where each
answer, condition and "next" leads. Steps with validation problems are drawn red with
the problems as their tooltip; steps nobody can reach stand in a last row.
"""

from __future__ import annotations

from collections import deque

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from scripting.flow import Flow, FlowStep
from scripting.validation import Problem

NODE_W, NODE_H = 190, 56
GAP_X, GAP_Y = 34, 64
MARGIN = 24
FILL = {"info": "#eef2f7", "question": "#e6f0fb", "end": "#dff3e3"}


def _layers(flow: Flow) -> list[list[FlowStep]]:
    depth: dict[str, int] = {}
    if flow.start is not None:
        depth[flow.start.key] = 0
        queue = deque([flow.start.key])
        while queue:
            key = queue.popleft()
            step = flow.get(key)
            assert step is not None
            for _kind, target in step.targets():
                if target not in depth and flow.get(target) is not None:
                    depth[target] = depth[key] + 1
                    queue.append(target)
    rows: dict[int, list[FlowStep]] = {}
    unreachable_row = max(depth.values(), default=-1) + 1
    for step in flow.steps:
        rows.setdefault(depth.get(step.key, unreachable_row), []).append(step)
    return [rows[i] for i in sorted(rows)]


def _short(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _edge_labels(step: FlowStep) -> list[tuple[str, str, bool]]:
    """(target, label, is_condition) of every arrow leaving the step."""
    out: list[tuple[str, str, bool]] = []
    for number, branch in enumerate(step.branches, start=1):
        out.append((branch.next_key, _("if %(n)d") % {"n": number}, True))
    for answer in step.answers:
        if answer.next_key:
            out.append((answer.next_key, answer.label, False))
    if step.next_key:
        out.append((step.next_key, "", False))
    return out


def flow_svg(flow: Flow, problems: list[Problem] | None = None) -> SafeString:
    """The diagram as inline SVG markup (every text escaped)."""
    by_step: dict[str, list[str]] = {}
    for problem in problems or []:
        by_step.setdefault(problem.step, []).append(problem.message)
    layers = _layers(flow)
    positions: dict[str, tuple[int, int]] = {}
    widest = max((len(row) for row in layers), default=1)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X + 80
    height = MARGIN * 2 + len(layers) * NODE_H + max(len(layers) - 1, 0) * GAP_Y
    for row_index, row in enumerate(layers):
        row_width = len(row) * NODE_W + (len(row) - 1) * GAP_X
        left = MARGIN + (widest * NODE_W + (widest - 1) * GAP_X - row_width) // 2
        for column, step in enumerate(row):
            positions[step.key] = (
                left + column * (NODE_W + GAP_X),
                MARGIN + row_index * (NODE_H + GAP_Y),
            )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(_("Flow of the script"))}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#56657a"/></marker></defs>',
    ]
    for step in flow.steps:
        sx, sy = positions[step.key]
        for index, (target, label, is_condition) in enumerate(_edge_labels(step)):
            if target not in positions:
                continue
            tx, ty = positions[target]
            x1, y1 = sx + NODE_W // 2, sy + NODE_H
            x2, y2 = tx + NODE_W // 2, ty
            dash = ' stroke-dasharray="5,3"' if is_condition else ""
            if ty > sy:
                path = f"M{x1},{y1} C{x1},{y1 + 30} {x2},{y2 - 30} {x2},{y2}"
                lx, ly = (x1 + x2) // 2, (y1 + y2) // 2
            else:  # back or sideways: around the right-hand side
                bend = max(sx, tx) + NODE_W + 30 + index * 8
                x1, y1 = sx + NODE_W, sy + NODE_H // 2
                x2, y2 = tx + NODE_W, ty + NODE_H // 2
                path = f"M{x1},{y1} C{bend},{y1} {bend},{y2} {x2},{y2}"
                lx, ly = bend - 10, (y1 + y2) // 2
            parts.append(
                f'<path d="{path}" fill="none" stroke="#56657a" stroke-width="1.3"{dash} '
                f'marker-end="url(#arrow)"/>'
            )
            if label:
                parts.append(
                    f'<text x="{lx}" y="{ly}" class="edge-label" font-size="11" '
                    f'text-anchor="middle" fill="#334">{escape(_short(label, 22))}</text>'
                )
    for step in flow.steps:
        x, y = positions[step.key]
        messages = by_step.get(step.key, [])
        stroke, stroke_width = ("#b3261e", 3) if messages else ("#8a97a8", 1)
        tooltip = "\n".join(messages) or step.text
        parts.append(
            f'<g class="node{" has-problem" if messages else ""}" data-step="{escape(step.key)}">'
            f"<title>{escape(_short(tooltip, 400))}</title>"
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{FILL.get(step.kind, "#fff")}" stroke="{stroke}" '
            f'stroke-width="{stroke_width}"/>'
            f'<text x="{x + 10}" y="{y + 21}" font-size="13" font-weight="bold" fill="#1d2733">'
            f"{escape(_short(step.key, 24))}</text>"
            f'<text x="{x + 10}" y="{y + 41}" font-size="11" fill="#445">'
            f"{escape(_short(step.title or step.text, 30))}</text>"
        )
        if messages:
            parts.append(
                f'<circle cx="{x + NODE_W - 12}" cy="{y + 12}" r="9" fill="#b3261e"/>'
                f'<text x="{x + NODE_W - 12}" y="{y + 16}" font-size="12" fill="#fff" '
                f'text-anchor="middle" font-weight="bold">!</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
