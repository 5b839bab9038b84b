"""The fuzz report: counts by outcome, distinct failure signatures, the failing cases' snippets."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .run import SEVERITY

FAILURES = ("crash", "hang", "wrong", "non-vortex", "compile-fail")


def label(f: dict) -> str:
    """The count-table row of a failure: refusals by error kind, compile failures by target."""
    if f["class"] == "refused":
        return f"refused: {f['kind']} at {f['phase'].split(' sizes')[0]}"
    if f["class"] == "compile-fail":
        return f"compile-fail: {f['phase'].replace('compile ', '')}"
    return f["class"]


def signature(f: dict) -> str:
    """What makes two failures "the same" for triage: class, kind, phase kind and the message
    with names and numbers blurred (the last frame for non-Vortex exceptions)."""
    where = f["frames"][-1].split(":")[0:2] if f["class"] == "non-vortex" and f["frames"] else []
    msg = f["message"].splitlines()[0] if f["message"] else ""
    msg = re.sub(r"^.*? on Func '[^']*': ", "", msg)          # the directive and its Func
    msg = re.sub(r"'[^']*'|\"[^\"]*\"|\b\w*\d\w*\b|\([^()]*\)|\[[^]]*\]", "_", msg)[:90]
    phase = re.sub(r" sizes.*", "", f["phase"])
    return " | ".join([label(f), f["kind"], phase, ":".join(where) or msg])


def table(results: list) -> str:
    counts = Counter(label(r.first) if r.failures else "correct" for r in results)
    rows = sorted(counts.items(), key=lambda kv: (SEVERITY.index(kv[0].split(":")[0]), kv[0]))
    n = max(len(results), 1)
    width = max([len(k) for k in counts] + [10])
    lines = [f"{'outcome':<{width}}  {'cases':>6}  {'share':>6}"]
    lines += [f"{k:<{width}}  {v:>6}  {100 * v / n:>5.1f}%" for k, v in rows]
    lines.append(f"{'total':<{width}}  {len(results):>6}")
    also = Counter(label(f) for r in results for f in r.failures if f is not r.first
                   and f["class"] in FAILURES)
    if also:
        lines.append("also seen in cases counted above under a more severe outcome: "
                     + ", ".join(f"{k} ×{v}" for k, v in sorted(also.items())))
    return "\n".join(lines)


def distinct(results: list) -> dict:
    """{signature: [Results]} over every failure (not refusals), most frequent first."""
    groups = {}
    for r in results:
        for f in r.failures:
            if f["class"] in FAILURES:
                groups.setdefault(signature(f), []).append(r)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def header(r, f: dict) -> str:
    lines = [f"Fuzz case {r.seed}:{r.index}: {f['class']} ({f['kind']}) in phase '{f['phase']}'.",
             "", *f["message"].splitlines()]
    if f.get("frames"):
        lines += ["", "last frames / worker output:", *("    " + x for x in f["frames"])]
    if "reproduced" in f:
        lines.append(f"crashes when run alone: {f['reproduced']}")
    lines += ["", "Expected: the reference's numbers on PoCL, CUDA/HIP sources that compile, or a "
              "clean vx.*Error.", "Run: python <this file>; exits 0 once the case passes "
              "(run a crash case in a subprocess)."]
    return '"""' + "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\") + '\n"""\n'


def refusals(results: list, n: int = 12) -> str:
    """The most frequent refusal messages (names and numbers blurred): which limits the
    generated programs hit."""
    c = Counter(signature(f) for r in results for f in r.failures if f["class"] == "refused")
    lines = [f"  {v:>4}  {k}" for k, v in c.most_common(n)]
    return "most frequent refusals:\n" + "\n".join(lines) if lines else ""


def coverage(results: list) -> str:
    """How often each directive was in a schedule that ran on PoCL, and where time went."""
    c = Counter(d for r in results for d in r.directives)
    ran = sum(1 for r in results if "run opencl" in r.phase_seconds)
    t = Counter()
    for r in results:
        t.update(r.phase_seconds)
    return (f"directives in the {ran} schedules that ran on PoCL: "
            + ", ".join(f"{k} {v}" for k, v in c.most_common()) + "\nseconds by phase: "
            + ", ".join(f"{k} {v:.0f}" for k, v in t.most_common()))


def describe(results: list, per_class: int = 3, source: bool = False) -> str:
    out = []
    for cls in FAILURES:
        cases = [r for r in results if r.cls == cls]
        for r in cases[:per_class]:
            f = r.first
            out.append(f"--- {cls}: case {r.seed}:{r.index} ({f['kind']}, phase '{f['phase']}')")
            out += ["    " + ln for ln in f["message"].splitlines()[:4]]
            out += ["    | " + x for x in f.get("frames", [])]
            if source:
                out.append(r.snippet)
        if len(cases) > per_class:
            out.append(f"--- {cls}: {len(cases) - per_class} more")
    groups = distinct(results)
    if groups:
        out.append("\ndistinct failure signatures (cases, first case):")
        out += [f"  {len(rs):>4}  {rs[0].seed}:{rs[0].index}  {sig}" for sig, rs in groups.items()]
    return "\n".join(out)


def write(results: list, out_dir) -> list:
    """Each failing case as ``<class>_<seed>_<index>.py`` (docstring + snippet) under
    ``out_dir``, plus ``summary.txt``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in results:
        if r.cls in FAILURES and r.snippet:
            p = out_dir / f"{r.cls}_{r.seed}_{r.index}.py"
            p.write_text(header(r, r.first) + r.snippet)
            paths.append(p)
    summary = out_dir / "summary.txt"
    parts = [table(results), coverage(results), describe(results, per_class=10**6),
             refusals(results, 50)]
    summary.write_text("\n\n".join(parts) + "\n")
    return paths + [summary]
