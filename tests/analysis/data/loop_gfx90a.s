
tiny.co:	file format elf64-amdgpu

Disassembly of section .text:

0000000000001000 <tiny_kernel>:
	s_load_dwordx4 s[0:3], s[4:5], 0x0                         // 000000001000: C00A0002 00000000
	global_load_dwordx4 v[4:7], v[0:1], off                    // 000000001008: DC5C8000 047F0000
	buffer_store_dword v8, off, s[0:3], 0 offset:4             // 000000001010: E0700004 80000800
	v_mad_u64_u32 v[2:3], s[6:7], v1, 4, v[2:3]                // 000000001018: D1E80602 04090901
	s_mov_b32 s8, 0                                            // 000000001020: BE880080
	ds_write_b64 v9, v[4:5]                                    // 000000001024: D89A0000 00000409
	s_waitcnt lgkmcnt(0)                                       // 00000000102C: BF8CC07F
	s_barrier                                                  // 000000001030: BF8A0000
	ds_read_b128 v[10:13], v9                                  // 000000001034: D9FE0000 0A000009
	ds_read2_b32 v[14:15], v9 offset0:1 offset1:33             // 00000000103C: D86E2101 0E000009
	v_fmac_f32_e32 v20, v10, v14                               // 000000001044: 76281D0A
	v_pk_fma_f32 v[22:23], v[10:11], v[14:15], v[22:23]        // 000000001048: D3B04016 1C5A1D0A
	v_mul_f32_e32 v24, v12, v15                                // 000000001050: 0A301F0C
	v_add_f32_e32 v25, v24, v25                                // 000000001054: 02323118
	v_mfma_f32_32x32x2f32 a[0:15], v10, v14, a[0:15]           // 000000001058: D3C40000 04021D0A
	s_add_i32 s8, s8, 1                                        // 000000001060: 81088108
	s_cmp_lg_u32 s8, s9                                        // 000000001064: BF070908
	s_cbranch_scc1 65522                                       // 000000001068: BF85FFF3 <tiny_kernel+0x34>
	s_and_saveexec_b64 s[10:11], vcc                           // 00000000106C: BE8A206A
	s_cbranch_execz 65529                                      // 000000001070: BF88FFF9 <tiny_kernel+0x58>
	scratch_load_dword v8, off, s0 offset:4                    // 000000001074: DC504004 087F0000
	global_load_dword v26, v[0:1], off                         // 00000000107C: DC508000 1A7F0000
	global_store_dwordx2 v[0:1], v[20:21], off                 // 000000001084: DC748000 007F1400
	s_endpgm                                                   // 00000000108C: BF810000
	s_nop 0                                                    // 000000001090: BF800000

0000000000001100 <tiny_kernel.kd>:
	s_nop 0                                                    // 000000001100: BF800000
