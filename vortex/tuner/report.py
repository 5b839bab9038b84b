"""``vortex-tune report``: a table of the best trials and a PNG of best-so-far vs trial.

The table is a pandas DataFrame (from :func:`vortex.tuner.study.trials_frame`); the plot uses
matplotlib's Agg backend (no display needed).
"""
from __future__ import annotations

from pathlib import Path


def best_table(trials, top: int = 10, default_ms=None):
    """The ``top`` fastest valid trials: rank, trial, ms (re-timed where confirmed, see
    vortex.tuner.session), speed-up vs the default, params, worker."""
    ok = trials[(trials["status"] == "ok") & (trials["repeat_of"] < 0)].copy()
    ok["ms"] = ok["confirmed"].fillna(ok["ms"])
    ok = ok.sort_values(["ms", "trial"]).head(top)
    drop = [c for c in ("state", "status", "reason", "repeat_of", "seconds", "confirmed")
            if c in ok]
    table = ok.drop(columns=drop).reset_index(drop=True)
    if default_ms:
        table.insert(2, "speedup", (default_ms / table["ms"]).round(2))
    table.index = table.index + 1
    table.index.name = "rank"
    return table


def status_counts(trials) -> dict:
    """Trials by status; ``repeat`` (answered from an earlier trial), ``interrupted``."""
    status = trials["status"].replace("", "interrupted").where(trials["repeat_of"] < 0, "repeat")
    return status.value_counts().to_dict()


def history_png(trials, path, title: str = "", default_ms=None) -> Path:
    """Plot each valid trial's time (dots), the best so far (line), the re-timed best
    configurations (stars), failures (red x) and the default schedule (dashed) against the
    trial number; save a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = trials[trials["repeat_of"] < 0].sort_values("trial")
    ok = trials[trials["status"] == "ok"]
    failed = trials[~trials["status"].isin(["ok", "pruned", ""])]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.scatter(ok["trial"], ok["ms"], s=14, color="0.6", label="trial")
    best = ok["ms"].cummin()
    ax.step(ok["trial"], best, where="post", color="tab:blue", lw=2, label="best so far")
    confirmed = ok[ok["confirmed"].notna()]
    if len(confirmed):
        ax.scatter(confirmed["trial"], confirmed["confirmed"], marker="*", s=120,
                   color="tab:green", zorder=3, label="re-timed at the end")
    if len(failed) and len(ok):
        ax.scatter(failed["trial"], [ok["ms"].min() * 0.98] * len(failed), marker="x",
                   color="tab:red", label="failed (wrong, crash, timeout…)")
    if default_ms:
        ax.axhline(default_ms, ls="--", color="tab:orange", label=f"default {default_ms:.3f} ms")
    ax.set_xlabel("trial")
    ax.set_ylabel("median device time (ms)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
