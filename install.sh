#!/usr/bin/env bash
# Set up Vortex on a fresh machine.
#   ./install.sh          the library, its OpenCL runtime with a CPU driver, the examples' extras
#   ./install.sh --test   also what the test-suite needs: NVRTC (pip), Debian's ROCm 5.2 hipcc and
#                         hiprtc, PostgreSQL (the multi-worker tuning test) and the tuner's extras
# pip's PoCL (pocl-binary-distribution) is built on LLVM 14 and cannot compile for CPUs newer
# than LLVM 14 knows (e.g. AMD Zen 5: "unknown target CPU"). When no OpenCL device can build a
# kernel after the pip install, or crashes running 16-wide vector built-ins (its LLVM 14 on an
# AVX-512 CPU it does not know, e.g. AMD Zen 4: vortex/runtime/opencl_device.py), this script
# adds Debian's pocl-opencl-icd with apt-get (Vortex then prefers the newer PoCL).
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
extras="opencl,examples"
if [ "${1:-}" = "--test" ]; then
  extras="opencl,examples,test,cuda,hip,tune,postgres"
  apt_install hipcc libamdhip64-dev libhiprtc-builtins5 rocm-device-libs libamd-comgr-dev \
              postgresql
fi
python3 -m pip install -q --disable-pip-version-check -e ".[$extras]"
probe='import sys; from vortex.runtime.opencl_device import select_device, usable, runs_wide_vectors
d = select_device(); sys.exit(0 if usable(d) and runs_wide_vectors(d) else 1)'
if ! python3 -c "$probe" 2>/dev/null; then
  echo "install.sh: pip's PoCL cannot build or run kernels on this CPU; installing Debian's pocl-opencl-icd"
  apt_install pocl-opencl-icd
  python3 -c "from vortex.runtime.opencl_device import select_device; print('OpenCL device:', select_device().name)"
fi
