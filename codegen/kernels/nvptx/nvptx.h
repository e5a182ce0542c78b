/* nvptx.h — the GPU kernel templates (nvptx.c) and their launch geometry,
 * shared by the templates, the GPU lowering (codegen/gpu.c) and the tests.
 *
 * The GPU kernels take the CPU lowering's descriptors and packed weights
 * unchanged (lower_q8.c, generic/qconv.h "Packed weights"): one int8
 * product descriptor, one weight layout, one bias/corr/M folding for every
 * target, so the GPU results are bit-exact with the reference for the same
 * reasons the CPU's are.  Only the work split differs: the CPU fields
 * (rows, rsplit, psplit, px, nv ...) are ignored and the grid comes from
 * g_launch_of below.
 *
 *  g_qconv     int8 convolution / GEMM as an implicit GEMM over NHWC: a
 *              block computes GQ_TP output pixels x one 16-channel block
 *              (the packed layout's block) with GQ_THREADS threads, 4
 *              outputs each.  K is walked in chunks of GQ_KC 4-groups: the
 *              block stages the chunk's activations (GQ_TP x GQ_KC words,
 *              gathered through the convolution's taps, padding reading the
 *              zero point) and weights (GQ_KC x 16 words, contiguous in the
 *              packed layout) in shared memory, barriers, and every thread
 *              runs dp4a.u32.s32 over them.  The Σa_u term of non-zero
 *              weight corrections (has_corr) is summed a 16th per lane and
 *              reduced over the 16 channel lanes with warp shuffles.
 *              Epilogue: bias', corr·Σa, then int32 / float / requantised
 *              output (fused ReLU/ReLU6 are the descriptor's qmin/qmax).
 *  g_qconv_mma the same product on the tensor cores (sm_80+):
 *              mma.sync m16n8k32 u8 x s8 -> s32, GM_TP pixels x 16
 *              channels per block of GM_THREADS (4 warps of 16 pixels),
 *              the same staging, Σa_u by an mma against ones, the same
 *              epilogue; chosen by codegen/gpu_map.c (cg_gpu_step_for:
 *              every --sm >= 80 and K >= 32, docs/gpu.md).
 *  g_qconv_dw  depthwise convolution: one thread per output (pixel,
 *              channel), int16 (w - zw) x (a - za) over the valid taps.
 *  g_relayout  NCHW <-> NHWC (k_relayout_desc), one thread per element.
 *  g_copy      byte copy (k_copy_desc), one thread per byte.
 */
#ifndef INGOT_K_NVPTX_H
#define INGOT_K_NVPTX_H

#include "generic/plan.h"
#include "generic/qconv.h"

#define GQ_TP 32       /* output pixels per block */
#define GQ_THREADS 128 /* threads per block: 16 channels x 8 pixel rows */
#define GQ_KC 16       /* 4-groups of K per shared-memory chunk */
#define GM_TP 64       /* g_qconv_mma: output pixels per block */
#define GM_THREADS 128 /* 4 warps, 16 pixels each */
#define GM_KC 16       /* 4-groups of K per chunk: two mma k-steps */
#define GM_MIN_SM 80   /* mma.sync m16n8k32 int8 needs sm_80 */
#define GDW_THREADS 128
#define GEW_THREADS 256 /* one thread per element */

typedef struct g_launch {
  uint32_t grid[3], block[3];
  uint32_t smem; /* static shared memory bytes (PTX declares it) */
} g_launch;

/* Output pixels of an int8 product: batch x out[0] x out[1] x out[2]. */
static inline int64_t g_q8_pixels(const k_q8_desc *d) {
  return d->batch * d->out[0] * d->out[1] * d->out[2];
}

/* The grid of g_qconv (depthwise 0) or g_qconv_dw (1) for |d|; returns 0
 * when a dimension exceeds what CUDA allows (grid.x < 2^31, grid.y <
 * 2^16). */
static inline int g_launch_of(const k_q8_desc *d, g_launch *out) {
  int64_t px = g_q8_pixels(d), gx, gy;
  if (d->depthwise) {
    gx = (px * d->group + GDW_THREADS - 1) / GDW_THREADS;
    gy = 1;
    out->block[0] = GDW_THREADS;
    out->smem = 0;
  } else {
    gx = (px + GQ_TP - 1) / GQ_TP;
    gy = d->group * d->nb;
    out->block[0] = GQ_THREADS;
    out->smem = (GQ_KC * GQ_TP + GQ_KC * 16) * 4;
  }
  if (gx < 1 || gx >= ((int64_t)1 << 31) || gy < 1 || gy >= 65536) return 0;
  out->grid[0] = (uint32_t)gx, out->grid[1] = (uint32_t)gy, out->grid[2] = 1;
  out->block[1] = out->block[2] = 1;
  return 1;
}

/* The grid of g_qconv_mma for |d| (not depthwise); 0 as g_launch_of. */
static inline int g_launch_mma(const k_q8_desc *d, g_launch *out) {
  int64_t gx = (g_q8_pixels(d) + GM_TP - 1) / GM_TP, gy = d->group * d->nb;
  if (d->depthwise || gx < 1 || gx >= ((int64_t)1 << 31) || gy < 1 ||
      gy >= 65536)
    return 0;
  out->grid[0] = (uint32_t)gx, out->grid[1] = (uint32_t)gy, out->grid[2] = 1;
  out->block[0] = GM_THREADS, out->block[1] = out->block[2] = 1;
  out->smem = (GM_KC * GM_TP + GM_KC * 16) * 4;
  return 1;
}

/* The grid of an element-per-thread kernel over |n| elements. */
static inline int g_launch_elems(int64_t n, g_launch *out) {
  int64_t gx = (n + GEW_THREADS - 1) / GEW_THREADS;
  if (gx < 1 || gx >= ((int64_t)1 << 31)) return 0;
  out->grid[0] = (uint32_t)gx, out->grid[1] = out->grid[2] = 1;
  out->block[0] = GEW_THREADS, out->block[1] = out->block[2] = 1;
  out->smem = 0;
  return 1;
}

#endif /* INGOT_K_NVPTX_H */
