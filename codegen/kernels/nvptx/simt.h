/* simt.h — the SIMT model the GPU templates (nvptx.c) are written against,
 * compiled two ways (DESIGN.md §6):
 *
 *  - for nvptx64-nvidia-cuda (__NVPTX__): thread/block indices are the PTX
 *    special registers, the barrier is bar.sync 0, shuffles are
 *    shfl.sync, dp4a is the PTX instruction (inline asm: LLVM 19 has no
 *    llvm.nvvm.idp4a, KERNEL-NOTES.md), shared memory is addrspace(3);
 *  - for the host (the tests' SIMT emulator, tests/gpu/simt_emu.c): each
 *    GPU thread is a fiber, and every function here is a call into the
 *    emulator; barriers and shuffles are its scheduling points.
 *
 * A kernel is GSIG(name): it takes the step's descriptor (a constant once
 * specialised), the device arena and the device weights, and finds its
 * work from the block and thread indices.  Only x is used for threads;
 * blocks use x and y.
 *
 * Shuffles and mma.sync take a full warp (mask 0xffffffff / .aligned):
 * every template calls them with all 32 lanes of a warp converged, and the
 * emulator reports one that some lane of the warp never reaches.
 *
 * simt_mma_us is mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 (sm_80
 * and later): D (16x8, s32) = A (16x32, u8, row-major) x B (32x8, s8,
 * column-major) + C, wrapping mod 2^32 (no .satfinite).  Each lane holds
 * fragments as the PTX ISA lays them out (9.7.14.5, "Matrix Fragments for
 * mma.m16n8k32", .u8/.s8), with g = lane / 4 and t = lane % 4 and the
 * lowest byte of a register holding the lowest-numbered element:
 *   A: a[0] = A[g][4t..4t+3],     a[1] = A[g+8][4t..4t+3],
 *      a[2] = A[g][16+4t..+3],    a[3] = A[g+8][16+4t..+3];
 *   B: b[0] = B[4t..4t+3][g],     b[1] = B[16+4t..16+4t+3][g];
 *   C, D: c[0], c[1] = C[g][2t], C[g][2t+1]; c[2], c[3] = C[g+8][2t],
 *      C[g+8][2t+1].
 * (Formulas: A row g for a_i with i < 4 or 8 <= i < 12, else g+8; column
 * 4t + (i & 3), +16 for i >= 8.  B row 4t + (i & 3), +16 for i >= 4,
 * column g.  C row g for c_0, c_1, else g+8; column 2t + (i & 1).)
 */
#ifndef INGOT_SIMT_H
#define INGOT_SIMT_H

#include <stdint.h>

#include "kabi.h"

#define GSIG(name) \
  void name(const void *desc_, uint8_t *arena, const uint8_t *weights)

#define SIMT_WARP 32

#ifdef __NVPTX__

static inline uint32_t simt_tid(void) { return __nvvm_read_ptx_sreg_tid_x(); }
static inline uint32_t simt_ntid(void) {
  return __nvvm_read_ptx_sreg_ntid_x();
}
static inline uint32_t simt_bid_x(void) {
  return __nvvm_read_ptx_sreg_ctaid_x();
}
static inline uint32_t simt_bid_y(void) {
  return __nvvm_read_ptx_sreg_ctaid_y();
}
static inline void simt_sync(void) { __nvvm_bar_sync(0); }
static inline uint32_t simt_shfl_xor(uint32_t v, uint32_t lane_mask) {
  return (uint32_t)__nvvm_shfl_sync_bfly_i32(0xffffffffu, (int)v,
                                             (int)lane_mask, 0x1f);
}
static inline uint32_t simt_shfl_idx(uint32_t v, uint32_t lane) {
  return (uint32_t)__nvvm_shfl_sync_idx_i32(0xffffffffu, (int)v, (int)lane,
                                            0x1f);
}
/* c + Σ_i a.u8[i] · b.s8[i] (mod 2^32). */
static inline uint32_t simt_dp4a_us(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t d;
  __asm__("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}
/* d = A·B + c, one m16n8k32 u8 x s8 tile per warp (layout above).  The
 * asm is volatile and the bitcode is compiled with -fconvergent-functions
 * (codegen/CMakeLists.txt), so LLVM neither drops nor moves it into
 * divergent code. */
static inline void simt_mma_us(uint32_t d[4], const uint32_t a[4],
                               const uint32_t b[2], const uint32_t c[4]) {
  __asm__ volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
        "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]));
}
/* |n| elements of |T| in the block's shared memory, as a generic pointer. */
#define SIMT_SHARED(T, name, n)                                  \
  static __attribute__((address_space(3))) T name##_smem_[n];    \
  T *name = (T *)name##_smem_

#else /* the host: the SIMT emulator (tests/gpu/simt_emu.c) */

uint32_t simt_emu_tid(void);
uint32_t simt_emu_ntid(void);
uint32_t simt_emu_bid(int axis);
void simt_emu_sync(void);
uint32_t simt_emu_shfl(uint32_t v, uint32_t lane, int xor_mode);
void *simt_emu_shared(uint32_t bytes);
void simt_emu_mma(uint32_t d[4], const uint32_t a[4], const uint32_t b[2],
                  const uint32_t c[4]);

static inline uint32_t simt_tid(void) { return simt_emu_tid(); }
static inline uint32_t simt_ntid(void) { return simt_emu_ntid(); }
static inline uint32_t simt_bid_x(void) { return simt_emu_bid(0); }
static inline uint32_t simt_bid_y(void) { return simt_emu_bid(1); }
static inline void simt_sync(void) { simt_emu_sync(); }
static inline uint32_t simt_shfl_xor(uint32_t v, uint32_t lane_mask) {
  return simt_emu_shfl(v, lane_mask, 1);
}
static inline uint32_t simt_shfl_idx(uint32_t v, uint32_t lane) {
  return simt_emu_shfl(v, lane, 0);
}
/* PTX dp4a.u32.s32: four u8 x s8 products added to c, wrapping. */
static inline uint32_t simt_dp4a_us(uint32_t a, uint32_t b, uint32_t c) {
  for (int i = 0; i < 4; i++)
    c += (uint32_t)((int32_t)(uint8_t)(a >> (8 * i)) *
                    (int32_t)(int8_t)(uint8_t)(b >> (8 * i)));
  return c;
}
/* The warp's lanes exchange fragments in the emulator (a scheduling
 * point, like a shuffle). */
static inline void simt_mma_us(uint32_t d[4], const uint32_t a[4],
                               const uint32_t b[2], const uint32_t c[4]) {
  simt_emu_mma(d, a, b, c);
}
/* Every thread of a block declares the same shared arrays in the same
 * order, so the emulator hands each the same block-local address. */
#define SIMT_SHARED(T, name, n) T *name = (T *)simt_emu_shared(sizeof(T) * (n))

#endif

#endif /* INGOT_SIMT_H */
