"""Schedules whose kernels need more shared memory than a static ``__shared__`` array may hold
(48 KB on CUDA), shared by the codegen, runtime and export tests of dynamic shared memory.

``staged_matmul(ki, stages)``: examples/matmul.py's algorithm with the shipped H100 schedule's
shape (128×128 block tile, 16×16 threads, 8×8 per thread), A and B staged per ``ko`` step of
``ki`` and multi-buffered ``stages`` deep: ``2 * stages * 128 * ki * 4`` bytes of shared memory
(ki=25, stages=4: 102400 bytes = 100 KiB; ki=24, stages=2: 49152 = exactly the static cap).
``blur_shared(rows, cols)``: blur_x computed per (rows × cols) tile of blur in shared memory,
``(rows + 2) * cols * 4`` bytes.
"""
import pipelines as P
import vortex as vx

KIB = 1024


def tile_bytes(ki: int, stages: int) -> int:
    return 2 * stages * 128 * ki * 4


def staged_matmul(ki: int = 25, stages: int = 4):
    """(pipe, schedule) of the staged matmul above."""
    pipe = P.pipe("matmul")
    s = vx.Schedule(pipe)
    c = s["C"]
    c.tile("i", "j", "yo", "xo", "yi", "xi", 128, 128)
    c.split("yi", "yii", "yt", 16).split("xi", "xii", "xt", 16)
    c.gpu_blocks("yo", "xo").gpu_threads("yt", "xt").split("k", "ko", "ki", ki)
    c.reorder("yt", "xt", "ko", "ki", "yii", "xii").unroll("yii").unroll("xii")
    c.stage("A", at="ko").stage("B", at="ko").pipeline("ko", stages=stages)
    return pipe, s


def blur_shared(rows: int = 128, cols: int = 128):
    """(pipe, schedule) of blur with blur_x in shared memory per tile."""
    pipe = P.pipe("blur")
    s = vx.Schedule(pipe)
    s["blur"].tile("y", "x", "yo", "xo", "yi", "xi", rows, cols).gpu_blocks("yo", "xo")
    s["blur_x"].compute_at("blur", "xo").store_in("shared")
    return pipe, s
