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
 * Shuffles take a full warp (mask 0xffffffff): every template calls them
 * with all 32 lanes of a warp converged, and the emulator reports a
 * shuffle that some lane of the warp never reaches.
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
/* Every thread of a block declares the same shared arrays in the same
 * order, so the emulator hands each the same block-local address. */
#define SIMT_SHARED(T, name, n) T *name = (T *)simt_emu_shared(sizeof(T) * (n))

#endif

#endif /* INGOT_SIMT_H */
