"""The PNGs astae draws: training curves (RUN_DIR/curves.png, from metrics.jsonl records) and the
latent map of `astae inspect latent` (two scatter panels of PCA-projected codes).

Uses matplotlib's object API with the Agg canvas directly, never pyplot: nothing changes the
global backend and no figure is kept alive by pyplot's figure manager, so the plot can be
redrawn after every epoch for a whole run without leaking.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from astae.core.files import atomic_file
from astae.core.metrics import RATE_KEYS

Series = tuple[list[float], list[float]]

TEACHER_FORCED = ("val/tf_similarity", "val/tf_exact_match")  # every epoch, drawn dashed
PLOTTED_RATES = (*(f"val/{key}" for key in RATE_KEYS), *TEACHER_FORCED)
OTHER = "other"  # the latent map's group of the rare signatures, drawn grey


def plot_curves(records: Sequence[dict], out: Path) -> Path:
    """Draw loss, reconstruction and rate panels from `records` into `out` (atomically); return `out`."""
    out = Path(out)
    panels = [
        (_loss_panel, {k: _series(records, "epoch", k) for k in ("train/loss", "val/loss")}
         | {"train/step_loss": _series(records, "step", "train/step_loss")}),
        (_reconstruction_panel, {k: _series(records, "epoch", k)
                                 for k in ("val/reconstruction_loss", "val/semantic_loss", "val/kl")}),
        (_rates_panel, {k: _series(records, "epoch", k) for k in RATE_KEYS}),
    ]
    panels = [(draw, {k: s for k, s in data.items() if s[0]}) for draw, data in panels]
    panels = [(draw, data) for draw, data in panels if data]

    fig = Figure(figsize=(6.5, 3.0 * max(1, len(panels))), layout="constrained")
    FigureCanvasAgg(fig)
    if panels:
        for ax, (draw, data) in zip(fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and steps are whole numbers
            draw(ax, data)
    else:
        fig.text(0.5, 0.5, "no metrics yet", ha="center", va="center", fontsize=14, color="grey")
    save_figure(fig, out)
    return out


def _series(records: Sequence[dict], x_key: str, y_key: str) -> Series:
    """(xs, ys) sorted by x; for a repeated x (a resumed run) the later record wins."""
    points: dict[float, float] = {}
    for r in records:
        x, y = r.get(x_key), r.get(y_key)
        if _is_number(x) and _is_number(y):
            points[x] = y
    xs = sorted(points)
    return xs, [points[x] for x in xs]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _loss_panel(ax: Axes, data: dict[str, Series]) -> None:
    step_loss = data.pop("train/step_loss", None)
    ax.set_title("loss")
    if step_loss:
        # Steps and epochs have different scales: steps go on their own (top) x axis.
        step_ax = ax.twiny() if data else ax
        step_ax.plot(*step_loss, color="tab:blue", alpha=0.4, linewidth=0.8, label="train/step_loss")
        step_ax.set_xlabel("step")
        if step_ax is not ax:
            step_ax.legend(loc="lower left", fontsize="small")
    for key, color in (("train/loss", "tab:blue"), ("val/loss", "tab:orange")):
        if key in data:
            ax.plot(*data[key], color=color, marker=".", label=key)
    if data:
        ax.set_xlabel("epoch")
    ax.legend(loc="upper right", fontsize="small")


def _reconstruction_panel(ax: Axes, data: dict[str, Series]) -> None:
    ax.set_title("reconstruction")
    ax.set_xlabel("epoch")
    kl = data.pop("val/kl", None)
    for key, series in data.items():
        ax.plot(*series, marker=".", label=key)
    if kl:
        # KL is often orders of magnitude below the reconstruction loss: give it its own y axis.
        kl_ax = ax.twinx() if data else ax
        kl_ax.plot(*kl, color="tab:red", marker=".", linestyle="--", label="val/kl")
        kl_ax.set_ylabel("kl")
        if kl_ax is not ax:
            kl_ax.legend(loc="upper center", fontsize="small")
    if data:
        ax.legend(loc="upper right", fontsize="small")


def _rates_panel(ax: Axes, data: dict[str, Series]) -> None:
    ax.set_title("rates")
    ax.set_xlabel("epoch")
    for key, series in data.items():
        style = "--" if key in TEACHER_FORCED else "-"
        ax.plot(*series, style, marker=".", label=key.removeprefix("val/"))
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best", fontsize="small")


def save_figure(fig: Figure, out: Path) -> None:
    """Save to a temp file beside `out`, then rename it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "wb") as f:
        fig.savefig(f, format=out.suffix.lstrip(".").lower() or "png", dpi=100)


def _legend_label(group: str, mask: np.ndarray, other_signatures: int) -> str:
    """A legend entry: the group (or how many signatures "other" merges) and its point count."""
    label = f"{OTHER}: {other_signatures} signatures" if group == OTHER else group
    return f"{label} ({int(mask.sum())})"


def plot_latent_map(
    points: np.ndarray, groups: list[str], actions: list[int], shares: list[float], out: Path, title: str,
    other_signatures: int = 0,
) -> Path:
    """Two scatter panels of `points` [N, 2]: coloured by group (legend) and by actions (colourbar);
    `other_signatures` is how many signatures the group "other" merges."""
    fig = Figure(figsize=(13, 6.5), layout="constrained")
    FigureCanvasAgg(fig)
    by_signature, by_size = fig.subplots(1, 2, sharex=True, sharey=True)
    order = [g for g, _ in Counter(groups).most_common() if g != OTHER]
    colours = dict(zip(order, [f"C{i}" for i in range(10) if i != 7]))  # C7 is grey, kept for "other"
    size = max(4.0, min(30.0, 3000 / max(1, len(groups))))
    kinds = np.array(groups)
    for group in [*order, OTHER] if OTHER in groups else order:
        mask = kinds == group
        label = _legend_label(group, mask, other_signatures)
        by_signature.scatter(points[mask, 0], points[mask, 1], s=size, alpha=0.7, linewidths=0,
                             color=colours.get(group, "C7"), label=label)
    by_signature.set_title("by signature")
    by_signature.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize="small",
                        frameon=False, markerscale=max(1.0, 20 / size))
    scatter = by_size.scatter(points[:, 0], points[:, 1], c=actions, s=size, alpha=0.8, linewidths=0,
                              cmap="viridis")
    fig.colorbar(scatter, ax=by_size, label="program size (actions)")
    by_size.set_title("by program size")
    for ax in (by_signature, by_size):
        ax.set_xlabel(f"PC1 ({shares[0]:.1%} of variance)")
        ax.set_ylabel(f"PC2 ({shares[1]:.1%} of variance)")
    fig.suptitle(title)
    save_figure(fig, out)  # a failed write is a WriteError naming the file
    return out
