"""Shared by the tensor-core table tests (test_mma_nvidia.py, test_mma_amd.py): the layout
check of an instruction and its exact emulation on PoCL.

The emulation is an OpenCL C kernel generated from an :class:`~vortex.mma.Instruction`,
``inst.lanes`` work-items in one work-group: each writes the A and B elements it holds (its
fragments' coordinates) into local-memory tiles filled first with a sentinel, then computes
each C element it holds as the dot product over k plus C; compared exactly with numpy
``A @ B + C``. This shows the layouts are bijections that route the right elements; it does not
prove the hardware agrees (no GPU here): the transcription from the vendor's documents does.
"""
import numpy as np

from vortex.mma import check_fragment


def frags(inst):
    return {"a": inst.a_frag, "b": inst.b_frag, "c": inst.c_frag}


def offsets(frag, lanes: int) -> list:
    """Row-major offset in the operand tile of element i of lane l, at index l * per_lane + i."""
    return [row * frag.cols + col for _, _, row, col in frag.positions(lanes)]


def check_layouts(inst) -> None:
    """Each operand's fragment has the instruction's shape and holds each position once."""
    assert (inst.a_frag.rows, inst.a_frag.cols) == (inst.m, inst.k)
    assert (inst.b_frag.rows, inst.b_frag.cols) == (inst.k, inst.n)
    assert (inst.c_frag.rows, inst.c_frag.cols) == (inst.m, inst.n)
    for frag in frags(inst).values():
        check_fragment(frag, inst.lanes)


EMULATED = {"float32": ("float", "NAN", np.float32), "int32": ("int", "(1 << 20)", np.int32)}


def opencl_kernel(inst) -> str:
    """``emulate(A, B, C, D)``: ``inst.lanes`` work-items, one per lane."""
    ctype, sentinel, _ = EMULATED[inst.acc]
    m, n, k = inst.m, inst.n, inst.k
    consts = "".join(f"__constant int {op.upper()}_OFF[] = {{{', '.join(map(str, offsets(f, inst.lanes)))}}};\n"
                     for op, f in frags(inst).items())
    pa, pb, pc = (f.per_lane for f in frags(inst).values())
    return consts + f"""
__kernel void emulate(__global const {ctype}* A, __global const {ctype}* B,
                      __global const {ctype}* C, __global {ctype}* D) {{
  __local {ctype} As[{m * k}], Bs[{k * n}];
  const int lane = get_local_id(0);
  for (int p = lane; p < {m * k}; p += {inst.lanes}) As[p] = {sentinel};
  for (int p = lane; p < {k * n}; p += {inst.lanes}) Bs[p] = {sentinel};
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = 0; i < {pa}; ++i) As[A_OFF[lane * {pa} + i]] = A[A_OFF[lane * {pa} + i]];
  for (int i = 0; i < {pb}; ++i) Bs[B_OFF[lane * {pb} + i]] = B[B_OFF[lane * {pb} + i]];
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = 0; i < {pc}; ++i) {{
    const int o = C_OFF[lane * {pc} + i], row = o / {n}, col = o % {n};
    {ctype} acc = C[o];
    for (int kk = 0; kk < {k}; ++kk) acc += As[row * {k} + kk] * Bs[kk * {n} + col];
    D[o] = acc;
  }}
}}
"""


def operands(inst, rng):
    """A, B, C exactly representable in the instruction's types, products and sums exact:
    quarters in [-4, 4] for the float types, nonzero int8 B (a missing A element then always
    shows), int32 C."""
    if inst.acc == "int32":
        a = rng.integers(-128, 128, (inst.m, inst.k))
        b = rng.choice(np.r_[-128:0, 1:128], (inst.k, inst.n))
        c = rng.integers(-2**20, 2**20, (inst.m, inst.n))
        return a.astype(np.int32), b.astype(np.int32), c.astype(np.int32)
    a, b, c = (rng.integers(-16, 17, shape) / 4 for shape in
               ((inst.m, inst.k), (inst.k, inst.n), (inst.m, inst.n)))
    return a.astype(np.float32), b.astype(np.float32), c.astype(np.float32)


def check_on_pocl(inst, opencl_device) -> None:
    """Run the emulation of ``inst`` on PoCL; its D must equal numpy ``A @ B + C`` exactly."""
    import pyopencl as cl

    from vortex.runtime.opencl import BUILD_OPTIONS
    from vortex.runtime.opencl_device import context_queue
    a, b, c = operands(inst, np.random.default_rng(len(inst.name)))
    ctx, queue = context_queue(opencl_device)
    prog = cl.Program(ctx, opencl_kernel(inst)).build(options=list(BUILD_OPTIONS))
    mf = cl.mem_flags
    bufs = [cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=np.ascontiguousarray(x))
            for x in (a, b, c)]
    d = np.full_like(c, -7)                   # a position no lane stores keeps -7
    d_buf = cl.Buffer(ctx, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=d)
    prog.emulate(queue, (inst.lanes,), (inst.lanes,), *bufs, d_buf)
    cl.enqueue_copy(queue, d, d_buf)
    expected = a.astype(np.int64) @ b + c if inst.acc == "int32" else \
        a.astype(np.float64) @ b + c
    np.testing.assert_array_equal(d, expected.astype(EMULATED[inst.acc][2]))
