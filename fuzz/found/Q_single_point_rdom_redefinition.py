"""Bug: an inline reduction over a one-point RDom (``vx.RDom([(0, 1)])``, e.g. a stencil window
of width 1) in a Func bound to GPU threads prints the loop variable's declaration twice: every
target's compiler refuses the kernel.

Found by the fuzzer (case 7:86: ``vx.maximum`` over ``RDom([(0, 1)])`` with a ``where``, in a
compute_root Func scheduled with gpu_tile). The reduction loop of extent 1 is removed, and the
``int x = xo * 4 + xi;`` that was inside it lands next to the one after it. OpenCL:
    error: redefinition of 'x'
    >   15 |   int x = ((xo * 4) + xi);
Without the gpu_tile, or with an RDom of extent 3, it compiles and is correct.
Expected: f = a[0] everywhere (the reference).
"""
import sys

import numpy as np

import vortex as vx

N = vx.Dim("N")
x = vx.Var("x")
a = vx.Input("a", vx.float32, (N,))
r = vx.RDom([(0, 1)], name="r")
f = vx.Func("f", shape=(N,))
f[x] = vx.sum(a[r])
pipe = vx.Pipeline(f)
s = vx.Schedule(pipe)
s[f].gpu_tile(x, "xo", "xi", 4)
v = np.arange(1, 6, dtype=np.float32)
bad = False
for target, arch in (("opencl", None), ("cuda", "sm_90"), ("hip", "gfx90a")):
    try:
        k = vx.compile(pipe, schedule=s, target=target, **({"arch": arch} if arch else {}))
    except vx.CompileError as e:
        line = next((ln for ln in str(e).splitlines() if "error" in ln and "failed" not in ln), "")
        print(f"BUG: {target}: CompileError: {line.strip()[:120]}")
        bad = True
        continue
    if target == "opencl":
        got, want = k(a=v), pipe.reference(a=v)
        print(f"opencl: expected {want}, got {got}")
        bad = bad or not np.array_equal(got, want)
sys.exit(1 if bad else 0)
