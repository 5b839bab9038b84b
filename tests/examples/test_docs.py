"""The docs promise only what is there: every schedule file they name exists, nothing cites the
absent DESIGN.md (docs/design.md is the contract), and docs/export.md's export and build
commands work as printed (HIP_PLATFORM=amd included: without it, hipcc hands the file to nvcc
on a machine with the CUDA toolkit)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import vortex as vx
from vortex.examples import load_example

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "benchmarks" / "README.md", *sorted((ROOT / "examples").glob("*.py")),
         *sorted((ROOT / "benchmarks").glob("*.py")), *sorted((ROOT / "vortex").rglob("*.py"))]
SCHEDULE_PATH = re.compile(r"schedules/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+\.toml")


def test_every_schedule_file_the_docs_name_exists():
    named = {(p.relative_to(ROOT), m) for p in TEXTS
             for m in SCHEDULE_PATH.findall(p.read_text(encoding="utf-8"))}
    assert named, "the pattern found nothing: the test is broken"
    missing = sorted((str(p), m) for p, m in named if not (ROOT / m).is_file())
    assert missing == []


def test_nothing_cites_the_absent_design_md():
    assert (ROOT / "docs" / "design.md").is_file()
    citing = [str(p.relative_to(ROOT)) for p in [*TEXTS, *sorted((ROOT / "tests").rglob("*.py"))]
              if p != Path(__file__).resolve()
              and re.search(r"DESIGN(\.md| §)", p.read_text(encoding="utf-8"))]
    assert citing == []


def shell_lines(markdown: str, first_word: str) -> list[str]:
    """The lines of the ```bash blocks of ``markdown`` that run ``first_word``."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, re.S)
    return [ln for b in blocks for ln in b.splitlines() if first_word in ln.split()[:2]]


@pytest.mark.parametrize("target, schedule, tool", [
    ("cuda", "schedules/blur/nvidia-h100.toml", "nvcc"),
    ("hip", "schedules/blur/amd-mi300x.toml", "hipcc")])
def test_export_md_commands_build_the_export(tmp_path, target, schedule, tool):
    doc = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    assert f'schedule="{schedule}"' in doc or target == "hip"
    (line,) = shell_lines(doc, tool)
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (CI installs it; see .ci/run)")
    pipe = load_example(ROOT / "examples" / "blur.py").pipeline()
    vx.export(pipe, schedule=str(ROOT / schedule), target=target, out_dir=tmp_path / "build")
    env = {k: v for k, v in os.environ.items() if k != "HIP_PLATFORM"}   # as a user's shell
    r = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"{line}\n{r.stderr[-3000:]}"
    assert (tmp_path / "blur.o").stat().st_size > 0


def test_batched_matmul_docstring_is_true():
    """It says: halves are read with vload_half, which needs no cl_khr_fp16."""
    ex = load_example(ROOT / "examples" / "batched_matmul.py")
    assert "read the halves with ``vload_half``" in ex.__doc__
    pipe = ex.pipeline()
    source = vx.source(pipe, str(ROOT / "schedules" / "batched_matmul" / "pocl-cpu.toml"),
                       target="opencl")
    assert "vload_half(" in source and "cl_khr_fp16" not in source
