"""Printed sources: OpenCL, CUDA and HIP differ only where the dialect tables say, and a few
sources are pinned byte for byte in ``golden/``.

Dialect test: each lowered case is printed by the shared ``CPrinter`` once with a *placeholder*
dialect (every table string replaced by a token such as ``⟨barrier⟩`` or ``⟨type:float32⟩``). The
three placeholder texts must be equal (up to the target named in the header comment), and
substituting a real dialect's table into its placeholder text must give exactly the source
printed for that target. So any difference between targets that does not come from the table
fails. The printer subclasses (``PRINTERS``: OpenCL's native vector code, CUDA/HIP vector memory
accesses) are checked apart: they print exactly what ``CPrinter`` prints for kernels without
vectorized loops.

Golden files: ``golden/<name>.cl|.cu|.hip`` are compared exactly. After an intended printer
change, regenerate them with ``VORTEX_REGEN_GOLDEN=1 python -m pytest tests/codegen`` and read
the diff before committing it.
"""
import dataclasses
import os
import re
from pathlib import Path

import pytest

import pipelines as P
import vortex as vx
from vortex import codegen
from vortex.codegen import DIALECTS, CPrinter, generate
from vortex.codegen.dialect import Dialect, VectorCopy
from vortex.lower import lower
from vortex.lower.ir import For, ForKind, GpuAxis
from vortex.lower.walk import stmts
from vortex.target import Target

from lower.cases import BY_ID, CASES

GOLDEN = Path(__file__).parent / "golden"
SUFFIX = {Target.OPENCL: "cl", Target.CUDA: "cu", Target.HIP: "hip"}
TYPES = sorted({n for d in DIALECTS.values() for n in d.types})
MATH = sorted({n for d in DIALECTS.values() for n in (*d.math_f32, *d.math_f64)}
              | {"exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "erf", "floor",
                 "ceil", "round", "fmin", "fmax", "fabs", "pow"})
INT_HELPERS = sorted({k for d in DIALECTS.values() for k in d.int_helpers})
SCALARS = ("prelude", "kernel_prefix", "buffer_qual", "restrict", "shared_qual", "barrier",
           "helper_qual", "unroll")


def placeholder(d: Dialect) -> Dialect:
    """``d`` with every string of its table replaced by a unique token."""
    return dataclasses.replace(
        d, **{f: f"⟨{f}⟩" for f in SCALARS},
        index={a: f"⟨index:{a.name}⟩" for a in GpuAxis},
        types={n: f"⟨type:{n}⟩" for n in TYPES},
        storage_types={n: f"⟨storage:{n}⟩" for n in TYPES},
        inf={n: f"⟨inf:{n}⟩" for n in ("float16", "float32", "float64")},
        math_f32={n: f"⟨f32:{n}⟩" for n in MATH}, math_f64={n: f"⟨f64:{n}⟩" for n in MATH},
        int_helpers={k: f"⟨int:{k[0]}:{k[1]}⟩" for k in INT_HELPERS},
        named_barrier="⟨named_barrier:{op}:{id}:{n}⟩", launch_bounds="⟨launch_bounds:{n}⟩",
        vector_copy=VectorCopy("⟨vload:{n}⟩{p}⟨/vload⟩", "⟨vstore:{n}⟩{p}⟨at⟩{v}⟨/vstore⟩",
                               "⟨vzero:{n}⟩{t}⟨/vzero⟩"),
        atomics=dataclasses.replace(d.atomics, native={
            k: f"⟨atomic:{k[0]}:{k[1]}⟩" for k in d.atomics.native}))


def _vector_copies(text: str, d: Dialect) -> str:
    """The 16-byte copies of a placeholder text in ``d``'s spelling (their arguments may be
    in another order: a format, not a lookup). Loads and zeros first: they sit in a store."""
    vc = d.vector_copy
    text = re.sub(r"⟨vload:(\d+)⟩(.*?)⟨/vload⟩", lambda m: vc.load.format(n=m[1], p=m[2]), text)
    text = re.sub(r"⟨vzero:(\d+)⟩(.*?)⟨/vzero⟩", lambda m: vc.zero.format(n=m[1], t=m[2]), text)
    return re.sub(r"⟨vstore:(\d+)⟩(.*?)⟨at⟩(.*)⟨/vstore⟩",
                  lambda m: vc.store.format(n=m[1], p=m[2], v=m[3]), text)


NAMED = re.compile(r"( *)if \(⟨index:THREAD_X⟩ < (\d+)\) ⟨named_barrier:(\w+):(\d+):(\d+)⟩\n"
                   r" *else ⟨named_barrier:(\w+):\d+:\d+⟩")


def _named(m, d: Dialect) -> str:
    """A producer/consumer barrier: the dialect's named barrier, or its block barrier."""
    ind, producers, first, bar_id, n, second = m.groups()
    if not d.named_barrier:
        return ind + "⟨barrier⟩"
    fmt = d.named_barrier.format
    return (f"{ind}if (⟨index:THREAD_X⟩ < {producers}) {fmt(op=first, id=bar_id, n=n)}\n"
            f"{ind}else {fmt(op=second, id=bar_id, n=n)}")


INT_HELPER_LINE = re.compile(r"^⟨helper_qual⟩ [^\n]*⟨int:(\w+):(\w+)⟩\([^\n]*\n\n", re.M)


def _int_helpers(text: str, d: Dialect) -> str:
    """Integer min/max/mul_hi: ``d``'s helper where its table has one (the definition kept),
    else the library call (its definition dropped): codegen/int_helpers.py."""
    text = INT_HELPER_LINE.sub(lambda m: m[0] if (m[1], m[2]) in d.int_helpers else "", text)
    return re.sub(r"⟨int:(\w+):(\w+)⟩", lambda m: d.int_helpers.get(
        (m[1], m[2])) or d.math_int.get((m[1], m[2]), m[1]), text)


def instantiate(template: str, d: Dialect) -> str:
    """The placeholder text with ``d``'s table substituted. Some rules are not plain lookups:
    an empty prelude or unroll hint drops its line, helper names embed the C type with '_' for
    ' ', a producer/consumer barrier is the block barrier where the dialect has no named
    barriers, and the launch bound is formatted with the block's thread count."""
    text = template.replace("⟨prelude⟩\n", d.prelude + "\n" if d.prelude else "")
    if not d.unroll:
        text = re.sub(r"^ *⟨unroll⟩\n", "", text, flags=re.M)
    text = NAMED.sub(lambda m: _named(m, d), text)
    text = _vector_copies(text, d)
    text = _int_helpers(text, d)
    text = re.sub(r"⟨launch_bounds:(\d+)⟩", lambda m: d.launch_bounds.format(n=m.group(1)), text)
    text = re.sub(r"(vx_(?:fdiv|fmod|abs)_)⟨type:(\w+)⟩",
                  lambda m: m.group(1) + d.types[m.group(2)].replace(" ", "_"), text)
    table = {f"⟨{f}⟩": getattr(d, f) for f in SCALARS}
    table.update({f"⟨index:{a.name}⟩": s for a, s in d.index.items()})
    table.update({f"⟨type:{n}⟩": s for n, s in d.types.items()})
    table.update({f"⟨storage:{n}⟩": d.storage_types.get(n) or s for n, s in d.types.items()})
    table.update({f"⟨inf:{n}⟩": s for n, s in d.inf.items()})
    table.update({f"⟨f32:{n}⟩": d.math_f32.get(n, n) for n in MATH})
    table.update({f"⟨f64:{n}⟩": d.math_f64.get(n, n) for n in MATH})
    table.update({f"⟨atomic:{op}:{t}⟩": fn for (op, t), fn in d.atomics.native.items()})
    return re.sub(r"⟨[^⟩]*⟩", lambda m: table[m.group(0)], text)


@pytest.fixture(scope="module")
def lowered():
    """Case id → Lowered (lowering does not depend on the target)."""
    cache = {}

    def get(case_id):
        if case_id not in cache:
            case = BY_ID[case_id]
            pipe = P.pipe(case.pipeline)
            cache[case_id] = lower(pipe, case.build(pipe))
        return cache[case_id]
    return get


# The mma case prints its matrix instruction from the per-target tables of vortex.mma
# (mma.sync / MFMA / plain loops: tests/lower/test_mma.py checks each target), and reads
# float16 operands, which OpenCL's printer loads with vload_half: not a dialect lookup.
TABLE_CASES = [c.id for c in CASES if c.id != "mma"]


@pytest.mark.parametrize("case_id", TABLE_CASES)
def test_targets_differ_only_by_the_dialect_table(case_id, lowered, monkeypatch):
    low = lowered(case_id)
    monkeypatch.setattr(codegen, "PRINTERS", {})     # every target on the shared CPrinter
    templates = {}
    for target, d in DIALECTS.items():
        real = generate(low, target).code
        with monkeypatch.context() as m:
            m.setitem(DIALECTS, target, placeholder(d))
            templates[target] = generate(low, target).code
        assert "⟨" not in real
        assert instantiate(templates[target], d) == real
    headers = {t: s.replace(f"({t.value}).", "(⟨target⟩).", 1) for t, s in templates.items()}
    assert headers[Target.OPENCL] == headers[Target.CUDA] == headers[Target.HIP]


def _vectorized(low) -> bool:
    return any(isinstance(s, For) and s.kind is ForKind.VECTORIZED
               for k in low.kernels for s in stmts(k.body))


@pytest.mark.parametrize("case_id", TABLE_CASES)
def test_printer_subclasses_change_only_vectorized_loops(case_id, lowered):
    """OpenCL's printer rewrites every vectorized loop; CUDA/HIP's only those with accesses
    proven aligned (vector_memory.py, tested in test_vector_memory.py), none in these cases."""
    low = lowered(case_id)
    for target, printer in codegen.PRINTERS.items():
        mine = [printer(DIALECTS[target]).kernel(k) for k in low.kernels]
        shared = [CPrinter(DIALECTS[target]).kernel(k) for k in low.kernels]
        assert (mine != shared) == (_vectorized(low) and target is Target.OPENCL)


def test_placeholders_cover_what_the_cases_print(lowered, monkeypatch):
    """The cases exercise the whole table that matters for them: kernels, buffers, GPU indices,
    shared memory and barriers, unroll pragmas, integer helpers, math and infinities."""
    seen = set()
    monkeypatch.setattr(codegen, "PRINTERS", {})
    for case in CASES:
        with monkeypatch.context() as m:
            m.setitem(DIALECTS, Target.CUDA, placeholder(DIALECTS[Target.CUDA]))
            seen |= set(re.findall(r"⟨([a-z0-9_]+)", generate(lowered(case.id), "cuda").code))
    assert seen >= {"prelude", "kernel_prefix", "buffer_qual", "restrict", "shared_qual",
                    "barrier", "helper_qual", "unroll", "index", "type", "storage", "f32",
                    "inf"}


# --- golden sources -----------------------------------------------------------------------------
def _golden_scale():
    pipe = P.pipe("scale")
    s = vx.Schedule(pipe)
    s["scale"].gpu_tile("y", "x", "yo", "xo", "yi", "xi", 8, 16)
    return pipe, s


def _golden_blur_shared():
    case = BY_ID["store_in_shared"]
    return P.pipe(case.pipeline), case.build(P.pipe(case.pipeline))


GOLDEN_SOURCES = {"scale": _golden_scale, "blur_shared": _golden_blur_shared}


@pytest.mark.parametrize("target", list(Target), ids=lambda t: t.value)
@pytest.mark.parametrize("name", sorted(GOLDEN_SOURCES))
def test_golden_source(name, target):
    pipe, s = GOLDEN_SOURCES[name]()
    source = vx.source(pipe, s, target=target)
    path = GOLDEN / f"{name}.{SUFFIX[target]}"
    if os.environ.get("VORTEX_REGEN_GOLDEN") == "1":
        path.write_text(source, encoding="utf-8")
    assert path.is_file(), f"missing {path}: run VORTEX_REGEN_GOLDEN=1 python -m pytest {__file__}"
    assert source == path.read_text(encoding="utf-8"), (
        f"{path.name} changed; if intended, regenerate with VORTEX_REGEN_GOLDEN=1 and review")


def test_golden_scale_runs_on_pocl(compiled):
    """The golden OpenCL source is not only stable but right."""
    pipe, s = _golden_scale()
    kernel = compiled("scale", "golden", s)
    assert kernel.source == (GOLDEN / "scale.cl").read_text(encoding="utf-8")
    for shape in P.SHAPES:
        args, ref = P.reference("scale", shape)
        P.assert_matches(kernel(**args), ref)
