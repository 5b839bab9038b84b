#!/usr/bin/env bash
# Set up Vortex on a fresh machine: the package with its OpenCL runtime and a CPU OpenCL driver.
#   ./install.sh          the library, the examples' extras and the pip PoCL CPU driver
#   ./install.sh --test   also what the test-suite needs
# pip's PoCL (pocl-binary-distribution) is built on LLVM 14 and cannot compile for CPUs newer
# than LLVM 14 knows (e.g. AMD Zen 5: "unknown target CPU"). When no OpenCL device can build a
# kernel after the pip install, this script adds Debian's pocl-opencl-icd with apt-get (root).
set -euo pipefail
cd "$(dirname "$0")"
extras="opencl,examples"
[ "${1:-}" = "--test" ] && extras="opencl,examples,test"
python3 -m pip install -q --disable-pip-version-check -e ".[$extras]"
probe='import sys; from vortex.runtime.opencl_device import select_device, usable
sys.exit(0 if usable(select_device()) else 1)'
if ! python3 -c "$probe" 2>/dev/null; then
  echo "install.sh: pip's PoCL cannot build kernels on this CPU; installing Debian's pocl-opencl-icd"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends pocl-opencl-icd >/dev/null
  python3 -c "from vortex.runtime.opencl_device import select_device; print('OpenCL device:', select_device().name)"
fi
