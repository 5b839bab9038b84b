"""Acceptance 3: trials whose kernel hangs, crashes or computes a wrong result (injected through
the test-only VORTEX_TUNER_FAULT hook, read in the trial worker) are recorded as failed with
their reason; the study goes on and only a correct trial can be the best."""
import pipelines as P
import vortex as vx
from .helpers import need_tuner_extra
from vortex.tuner import DeviceRunner, Session

need_tuner_extra()


def test_hang_crash_and_wrong_result_fail_their_trial_only(opencl_device, tmp_path,
                                                           monkeypatch):
    pipe = P.matmul()
    space = vx.Schedule(pipe)
    space["C"].gpu_tile("i", "j", "bi", "bj", "ti", "tj", 4, vx.Tunable("T", [4, 8, 16, 32]))
    monkeypatch.setenv("VORTEX_TUNER_FAULT", "hang:T=4;crash:T=8;wrong:T=16")
    session = Session(pipe, space, shape={"M": 64, "N": 64, "K": 64}, sampler="grid", seed=0,
                      storage=f"sqlite:///{tmp_path / 'faults.db'}",
                      runner=DeviceRunner(trial_timeout_s=8, repeat=3))
    session.run(4)
    trials = session.result().trials.set_index("T")
    assert trials.loc[4, "status"] == "timeout"
    assert "no result within 8 s" in trials.loc[4, "reason"]
    assert trials.loc[8, "status"] == "crash"
    assert "the worker process died (SIGSEGV)" in trials.loc[8, "reason"]
    assert trials.loc[16, "status"] == "wrong"
    assert "differs from pipe.reference" in trials.loc[16, "reason"]
    assert trials.loc[32, "status"] == "ok"
    assert set(trials["state"]) == {"fail", "complete"}
    best = session.result()
    assert best.best_schedule.directives["C"][0].factors == (4, 32) and best.best_ms > 0
