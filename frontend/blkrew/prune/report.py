"""Pruning report: a per-layer table (markdown + JSON) and block-mask images.

Images are drawn with matplotlib's Agg canvas directly (no pyplot, so the
user's backend is left alone). Each pruned weight gets one PNG of its mask in
the GEMM view (``[M, K]``; gates of GRU/LSTM weights stacked, separated by
lines), white = kept, black = pruned, block grid drawn when it is legible.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import torch

from blkrew.prune.reweighted import ReweightedPruner

__all__ = ["format_table", "mask_image", "write_report"]


def _fmt_groups(d: dict[str, int] | None, t: dict[str, int] | None) -> str:
    if not d or not t:
        return "-"
    return ", ".join(f"{k} {d[k]}/{t[k]}" for k in d)


def _fmt_ratio(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.2f}x"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The per-layer table in markdown."""
    head = (
        "| layer | kind | shape | GEMM (gates) | block | scheme | kept groups "
        "| kept / total | target | compression | note |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        gemm = f"{r['gemm'][0]}x{r['gemm'][1]}"
        if r["gates"] > 1:
            gemm = f"{r['gates']} x {r['gemm'][0] // r['gates']}x{r['gemm'][1]}"
        lines.append(
            "| "
            + " | ".join(
                [
                    r["name"],
                    r["kind"],
                    "x".join(str(s) for s in r["shape"]),
                    gemm,
                    f"{r['block'][0]}x{r['block'][1]}",
                    r["scheme"] if r["pruned"] else "-",
                    _fmt_groups(r["groups_kept"], r["groups_total"]),
                    f"{r['kept']}/{r['total']}",
                    _fmt_ratio(r["target_compression"]),
                    _fmt_ratio(r["compression"]),
                    r["reason"] or ("pruned" if r["pruned"] else "not pruned yet"),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def mask_image(
    mask: torch.Tensor,
    gates: int,
    block: tuple[int, int],
    path: str | Path,
    title: str = "",
) -> Path:
    """Writes a PNG of ``mask`` in its GEMM view ``[rows, cols]``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    m2 = mask.reshape(mask.shape[0], -1).to(torch.float32).cpu().numpy()
    rows, cols = m2.shape
    scale = 6.0 / max(rows, cols)
    fig = Figure(
        figsize=(max(2.5, cols * scale + 1.0), max(2.0, rows * scale + 0.8)), dpi=120
    )
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(m2, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    p, q = block
    if rows / p <= 64 and cols / q <= 64:
        for r in range(p, rows, p):
            ax.axhline(r - 0.5, color="tab:blue", linewidth=0.3)
        for c in range(q, cols, q):
            ax.axvline(c - 0.5, color="tab:blue", linewidth=0.3)
    for g in range(1, gates):
        ax.axhline(g * rows / gates - 0.5, color="tab:red", linewidth=1.0)
    kept = float(m2.mean()) if m2.size else 0.0
    ax.set_title(f"{title}\nkept {100 * kept:.1f}%", fontsize=8)
    ax.set_xlabel("column (C*kh*kw / inputs)", fontsize=7)
    ax.set_ylabel("row (filter / output)", fontsize=7)
    ax.tick_params(labelsize=6)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path


def write_report(
    pruner: ReweightedPruner,
    out_dir: str | Path,
    extra: dict[str, Any] | None = None,
    images: bool = True,
    stem: str = "prune_report",
) -> dict[str, Path]:
    """Writes ``<stem>.md``, ``<stem>.json`` and ``masks/<param>.png`` into
    ``out_dir``; returns the paths. ``extra`` (e.g. accuracies, schedule) is
    added to the JSON and listed in the markdown."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = pruner.layer_stats()
    summary = pruner.summary()
    payload = {"summary": summary, "layers": rows, **(extra or {})}

    def clean(x: Any) -> Any:
        if isinstance(x, float) and math.isinf(x):
            return "inf"
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    paths = {"json": out / f"{stem}.json", "md": out / f"{stem}.md"}
    paths["json"].write_text(json.dumps(clean(payload), indent=2) + "\n")
    cfg = summary["config"]
    md = [
        "# blkrew pruning report",
        "",
        f"method `{cfg['method']}`, block {cfg['block'][0]}x{cfg['block'][1]}, "
        f"scheme `{cfg['scheme']}`, target compression {cfg['compression']}x, "
        f"lambda {cfg['lam']:g}, eps {cfg['eps']:g}",
        "",
        f"- pruned layers: {summary['pruned_weights_kept']}/"
        f"{summary['pruned_weights_total']} weights kept "
        f"({_fmt_ratio(summary['pruned_layers_compression'])})",
        f"- all Linear/Conv/RNN weights: {summary['all_weights_kept']}/"
        f"{summary['all_weights_total']} kept "
        f"({_fmt_ratio(summary['overall_compression'])}); BatchNorm and biases "
        "untouched",
    ]
    for k, v in (extra or {}).items():
        if not isinstance(v, dict | list):
            md.append(f"- {k}: {v:.2f}" if isinstance(v, float) else f"- {k}: {v}")
    md += ["", format_table(rows), ""]
    if images:
        img_dir = out / "masks"
        img_dir.mkdir(exist_ok=True)
        md.append("## Block masks (white = kept)")
        md.append("")
        for name, t in pruner.named_targets():
            fname = re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png"
            mask_image(
                t.mask.reshape(t.param.shape[0], -1),
                t.gates,
                t.settings.block,
                img_dir / fname,
                title=f"{name} ({t.settings.scheme}, {t.settings.block[0]}x"
                f"{t.settings.block[1]})",
            )
            paths[f"mask:{name}"] = img_dir / fname
            md.append(f"![{name}](masks/{fname})")
        md.append("")
    paths["md"].write_text("\n".join(md))
    return paths
