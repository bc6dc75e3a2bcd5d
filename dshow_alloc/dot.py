"""A connected graph drawn with Graphviz: filters, pins, media types and allocators.

`graph_to_dot` writes the DOT text: each filter is a box (a cluster) holding its pins, and
each connection an edge labelled with the negotiated media type (caps syntax) and the
connection's allocator: its properties (buffers x size, align, prefix), who provided it
(``BaseOutputPin.allocator_origin``), and whether the samples arrive read-only.
`render` writes ``.dot`` itself and runs Graphviz's ``dot`` for any other suffix
(``.svg``, ``.png``, ``.pdf``).

A filter that intelligent connect added (``FilterGraph.Connect``, ``Render``,
``RenderFile``, a launch line's ``autoconvert``: ``FilterGraph.added_by``) is drawn with a
dashed border and a third label line saying so (``added by Connect``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from dshow_alloc.caps import caps_of
from dshow_alloc.pins import filter_label
from dshow_alloc.structs import PinDirection

__all__ = ["graph_to_dot", "render"]


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _allocator_text(out_pin: Any, in_pin: Any) -> str:
    allocator = getattr(out_pin, "allocator", None)
    if allocator is None:
        return "no allocator"
    props = allocator.GetProperties()
    name = getattr(allocator, "name", type(allocator).__name__)
    lines = [
        f"{type(allocator).__name__} {name}",
        f"{props.buffers} x {props.buffer_size} B, align {props.align}, prefix {props.prefix}",
    ]
    origin = getattr(out_pin, "allocator_origin", "")
    if origin:
        lines.append(origin)
    read_only = getattr(in_pin, "read_only", False)
    lines.append("read-only" if read_only else "writable")
    return "\n".join(lines)


def graph_to_dot(graph: Any, *, title: str = "") -> str:
    """The DOT text of ``graph``'s filters and connections."""
    ids: dict[int, str] = {}
    out = [
        "digraph dshow_alloc {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=10];',
        '  edge [fontname="monospace", fontsize=8];',
    ]
    if title:
        out.append(f"  label={_quote(title)}; labelloc=t;")
    added_by = getattr(graph, "added_by", None)
    for index, filter in enumerate(graph.EnumFilters()):
        name = filter_label(filter)
        out.append(f"  subgraph cluster_{index} {{")
        by = added_by(filter) if added_by is not None else None
        text = name + "\n" + type(filter).__name__
        if by is not None:
            text += f"\nadded by {by}"
        out.append(f"    label={_quote(text)};")
        if by is None:
            out.append('    style="rounded,filled"; fillcolor="#eeeeee";')
        else:
            out.append('    style="rounded,filled,dashed"; fillcolor="#f4f4e8";')
        for number, pin in enumerate(filter.EnumPins()):
            node = f"f{index}p{number}"
            ids[id(pin)] = node
            is_input = pin.QueryDirection() is PinDirection.PINDIR_INPUT
            colour = "#bcd8f0" if is_input else "#f7d3a6"
            out.append(f"    {node} [label={_quote(pin.QueryId())}, fillcolor={_quote(colour)}];")
        out.append("  }")
    for filter in graph.EnumFilters():
        for pin in filter.EnumPins():
            if pin.QueryDirection() is not PinDirection.PINDIR_OUTPUT or not pin.is_connected():
                continue
            peer = pin.ConnectedTo()
            if id(peer) not in ids:
                continue
            label = caps_of(pin.ConnectionMediaType()).replace(",", "\n  ", 1)
            label += "\n" + _allocator_text(pin, peer)
            out.append(f"  {ids[id(pin)]} -> {ids[id(peer)]} [label={_quote(label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def render(dot_text: str, path: Path | str) -> Path:
    """Write ``dot_text`` to ``path``: as is for ``.dot``/``.gv``, else through Graphviz.

    Raises:
        FileNotFoundError: Graphviz's ``dot`` is not installed (``apt-get install graphviz``).
        RuntimeError: ``dot`` failed (its message included).
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("dot", "gv"):
        path.write_text(dot_text)
        return path
    if not suffix:
        raise ValueError(f"{path}: give a suffix (.dot, .svg, .png or .pdf)")
    program = shutil.which("dot")
    if program is None:
        raise FileNotFoundError(
            "Graphviz's dot program is needed for ." + suffix + " (apt-get install graphviz); "
            "write a .dot file instead"
        )
    done = subprocess.run(
        [program, f"-T{suffix}", "-o", str(path)],
        input=dot_text.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dot -T{suffix} failed: {done.stderr.decode(errors='replace')}")
    return path
