"""Resource usage of AMDGPU code objects (what hiprtc returns), read from their metadata.

A code object is an ELF file; its ``NT_AMDGPU_METADATA`` note (type 32, owner ``"AMDGPU"``) holds
a MessagePack map whose ``amdhsa.kernels`` list describes every kernel (LLVM AMDGPU usage docs,
"Code Object V3+ Metadata"). hiprtc may wrap the ELF in a clang offload bundle
(``__CLANG_OFFLOAD_BUNDLE__`` header: entry count, then offset/size/target triple per entry).
"""
from __future__ import annotations

import struct

from .. import errors

__all__ = ["unbundle", "metadata", "kernel_resources"]

BUNDLE_MAGIC = b"__CLANG_OFFLOAD_BUNDLE__"
ELF_MAGIC = b"\x7fELF"
SHT_NOTE = 7
NT_AMDGPU_METADATA = 32

# resources key: metadata key (LLVM AMDGPU usage, "Code Object V3 Kernel Metadata Map")
_FIELDS = {
    "vgprs": ".vgpr_count",                    # vector registers per work-item
    "agprs": ".agpr_count",                    # accumulation registers (gfx90a/gfx942)
    "sgprs": ".sgpr_count",                    # scalar registers per wavefront
    "lds_bytes": ".group_segment_fixed_size",  # static LDS (shared memory) per work-group
    "scratch_bytes": ".private_segment_fixed_size",  # per work-item scratch (spills, stack)
    "vgpr_spills": ".vgpr_spill_count",
    "sgpr_spills": ".sgpr_spill_count",
    "wavefront_size": ".wavefront_size",
    "max_threads": ".max_flat_workgroup_size",
    "kernarg_bytes": ".kernarg_segment_size",
}


def unbundle(blob: bytes, arch: str) -> bytes:
    """The ELF code object for ``arch`` inside ``blob`` (returned as is when already an ELF).
    Raises vx.CompileError for anything else."""
    if blob.startswith(ELF_MAGIC):
        return blob
    if not blob.startswith(BUNDLE_MAGIC):
        raise errors.CompileError(f"hiprtc returned neither an ELF code object nor an offload "
                                  f"bundle (starts with {blob[:8]!r})")
    (count,), pos, found = struct.unpack_from("<Q", blob, 24), 32, []
    for _ in range(count):
        offset, size, tlen = struct.unpack_from("<QQQ", blob, pos)
        triple = blob[pos + 24: pos + 24 + tlen].decode()
        pos += 24 + tlen
        found.append(triple)
        if "amdgcn" in triple and arch in triple:
            return blob[offset: offset + size]
    raise errors.CompileError(f"the offload bundle from hiprtc has no code object for {arch} "
                              f"(entries: {found})")


def _notes(elf: bytes):
    """(owner, type, descriptor) of every note in the ELF64 little-endian ``elf``."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    for i in range(shnum):
        _, sh_type, _, _, offset, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        if sh_type != SHT_NOTE:
            continue
        pos, end = offset, offset + size
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name_at = pos + 12
            desc_at = name_at + (namesz + 3) // 4 * 4
            yield elf[name_at: name_at + namesz].rstrip(b"\0"), ntype, \
                elf[desc_at: desc_at + descsz]
            pos = desc_at + (descsz + 3) // 4 * 4


def metadata(elf: bytes) -> dict:
    """The decoded ``NT_AMDGPU_METADATA`` map of an ELF code object. Raises vx.CompileError
    when there is none (code object v2 or not AMDGPU)."""
    try:
        import msgpack
    except ImportError:
        raise errors.CompileError("reading the resource usage of HIP kernels needs msgpack: "
                                  "pip install msgpack") from None
    if not elf.startswith(ELF_MAGIC) or elf[4] != 2:
        raise errors.CompileError("the HIP code object is not an ELF64 file")
    for owner, ntype, desc in _notes(elf):
        if owner == b"AMDGPU" and ntype == NT_AMDGPU_METADATA:
            return msgpack.unpackb(desc, raw=False, strict_map_key=False)
    raise errors.CompileError("the HIP code object has no AMDGPU metadata note (code object "
                              "v3 or later is needed)")


def kernel_resources(elf: bytes) -> dict:
    """Per kernel name: ``vgprs``, ``agprs``, ``sgprs``, ``lds_bytes``, ``scratch_bytes``,
    ``vgpr_spills``, ``sgpr_spills``, ``wavefront_size``, ``max_threads`` (largest block the
    kernel was compiled for), ``kernarg_bytes`` — ints, 0 when the compiler left a field out —
    plus the keys CUDA reports too: ``registers`` (= vgprs) and ``shared_bytes`` (= lds_bytes)."""
    out = {}
    for k in metadata(elf).get("amdhsa.kernels", []):
        r = {key: int(k.get(field, 0)) for key, field in _FIELDS.items()}
        r.update(registers=r["vgprs"], shared_bytes=r["lds_bytes"])
        out[k.get(".name") or k[".symbol"].removesuffix(".kd")] = r
    return out
