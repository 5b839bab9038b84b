"""Record the timings that tests/tuner/test_replay.py replays: every configuration of
examples/matmul.py's space at M = N = K = 128, measured on this machine's OpenCL device with the
DeviceRunner (verified against pipe.reference; median of 10 runs, in 3 rounds over the whole
space, keeping each configuration's best round so that a busy moment of the machine does not
decide its time). Pruned configurations are recorded with status "pruned".

    python tests/tuner/record_timings.py tests/tuner/data/matmul_pocl_128.csv
"""
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import matmul  # noqa: E402

from vortex.target import Target  # noqa: E402
from vortex.tuner import Context, DeviceRunner, Job, Space, device_info, make_inputs  # noqa: E402
from vortex.tuner.runner import write_csv  # noqa: E402

SHAPE = {"M": 128, "N": 128, "K": 128}
ROUNDS = 3


def main(out: str) -> None:
    pipe = matmul.pipeline()
    space = Space(matmul.space(pipe))
    info = device_info(Target.OPENCL)
    inputs, shape = make_inputs(pipe, SHAPE, None)
    runner = DeviceRunner(trial_timeout_s=60, repeat=10)
    runner.start(Job(pipe, inputs, shape, Target.OPENCL, info))
    ctx = Context(pipe, shape, Target.OPENCL, info.limits)
    names = list(space.tunables)
    configs = [dict(zip(names, values))
               for values in itertools.product(*(t.choices for t in space.tunables.values()))]
    best = {}
    for round_ in range(ROUNDS):
        for params in configs:
            key = tuple(params.values())
            schedule, reason = space.configure(params, ctx)
            if schedule is None:
                best[key] = {**params, "ms": "", "status": "pruned"}
                continue
            outcome = runner.run(schedule, params)
            old = best.get(key)
            if outcome.ok and (old is None or not old["ms"] or outcome.ms < float(old["ms"])):
                best[key] = {**params, "ms": f"{outcome.ms:.6f}", "status": "ok"}
            elif old is None:
                best[key] = {**params, "ms": "", "status": outcome.status.value}
            print(round_, params, outcome.status.value, outcome.ms, flush=True)
    rows = [best[tuple(p.values())] for p in configs]
    runner.close()
    print(f"{info.name}: wrote {write_csv(out, rows)}")


if __name__ == "__main__":
    main(sys.argv[1])
