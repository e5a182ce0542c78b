/* matmul_bf16.c (AVX512-BF16) — bf16 operands, float32 accumulation, for
 * MatMul and Gemm layers the precision pass made bf16 (descriptors and
 * data layout: bf16.h; lowering: codegen/lower_bf16.c).
 *
 * k_bf16_pack_a rounds A to bf16 pairs in scratch; k_mm_bf16_avx512 is the
 * AVX-512 SGEMM's loops (kmm_drive) and register micro-tile (mr x nv zmm
 * accumulators) with the FMA replaced by vdpbf16ps, which consumes two
 * steps of K per instruction.  The epilogue (alpha, beta*C, fused bias and
 * the planner's fused elementwise ops) is the float32 template's.
 */
#include <immintrin.h>

#include "generic/epilogue_apply.h"
#include "generic/matmul.h"
#include "kmath.h"
#include "x86_avx512/bf16.h"
#include "x86_avx512/bf16_round.h"
#include "x86_avx512/mm_tile.h"

KSIG(k_bf16_pack_a) {
  const k_bf16_pack_desc *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  uint16_t *out = kptr(d->out, arena, weights);
  const int64_t k = d->k, w = 2 * d->k2;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t r0 = kchunk(d->rows, d->tasks, t),
            r1 = kchunk(d->rows, d->tasks, t + 1);
    for (int64_t i = r0; i < r1; i++) {
      const float *xr = x + i * d->x_rs;
      uint16_t *o = out + i * w;
      if (d->x_cs == 1) {
        for (int64_t p = 0; p < k; p += 16)
          bf_round_store(o + p, xr + p, k - p);
      } else {
        for (int64_t p = 0; p < k; p++) o[p] = kf32_to_bf16(xr[p * d->x_cs]);
      }
      for (int64_t p = k; p < w; p++) o[p] = 0; /* past K: zero pairs */
    }
    if (t == d->tasks - 1) /* AMX padding rows: the last task zeroes them */
      for (int64_t i = d->rows; i < d->rows_pad; i++)
        memset(out + i * w, 0, (size_t)w * 2);
  }
}

/* Pair row q of one panel: P columns from j0 (cols valid), rows 2q and
 * 2q+1 of B (the second absent past K). */
K_INLINE void pack_b_row(const k_bf16_pack_b_desc *d, const float *xm,
                         uint32_t *o, int64_t q, int64_t j0, int64_t cols) {
  const float *r0 = xm + 2 * q * d->x_rs + j0 * d->x_cs;
  const float *r1 = 2 * q + 1 < d->k ? r0 + d->x_rs : NULL;
  if (2 * q >= d->k) {
    memset(o, 0, (size_t)d->P * 4);
    return;
  }
  if (d->x_cs == 1) {
    for (int64_t j = 0; j < d->P; j += 16) {
      __mmask16 m = bf_mask(cols - j);
      __m512i lo = bf_round16(_mm512_maskz_loadu_ps(m, r0 + j));
      __m512i hi = r1 ? bf_round16(_mm512_maskz_loadu_ps(m, r1 + j))
                      : _mm512_setzero_si512();
      __m512i v = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
      _mm512_storeu_si512(o + j, _mm512_maskz_mov_epi32(m, v));
    }
    return;
  }
  for (int64_t j = 0; j < d->P; j++) {
    uint32_t lo = 0, hi = 0;
    if (j < cols) {
      lo = kf32_to_bf16(r0[j * d->x_cs]);
      hi = r1 ? kf32_to_bf16(r1[j * d->x_cs]) : 0;
    }
    o[j] = lo | hi << 16;
  }
}

KSIG(k_bf16_pack_b) {
  const k_bf16_pack_b_desc *d = desc_;
  const float *x = kptr(d->x, arena, weights);
  uint32_t *out = kptr(d->out, arena, weights);
  const int64_t units = d->nmat * d->panels, per = d->panels * d->k2 * d->P;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t u0 = kchunk(units, d->tasks, t), u1 = kchunk(units, d->tasks, t + 1);
    for (int64_t u = u0; u < u1; u++) {
      int64_t mat = u / d->panels, pn = u % d->panels, j0 = pn * d->P;
      int64_t cols = d->n - j0 < d->P ? d->n - j0 : d->P;
      uint32_t *o = out + mat * per + pn * d->k2 * d->P;
      for (int64_t q = 0; q < d->k2; q++)
        pack_b_row(d, x + mat * d->x_ms, o + q * d->P, q, j0, cols);
    }
  }
}

/* The micro-tile (kmm_micro_fn, generic/matmul.h); k0, k1 count pairs. */
K_INLINE void mm_micro_bf16(const k_mm_desc *d, const float *a,
                            const float *bp, int64_t brs, float *y,
                            const float *c, int64_t i0, int64_t rows,
                            int64_t j0, int64_t cols, int64_t k0, int64_t k1,
                            int first, int last) {
  const int64_t nv = d->nv;
  __m512 acc[MM512_MR_MAX][MM512_NV_MAX];
  mm512_tile_load(d, acc, y, i0, rows, j0, cols, first);
  const float *ap = a + i0 * d->a_rs;
  for (int64_t p = k0; p < k1; p++, bp += brs) {
    __m512bh bv[MM512_NV_MAX];
    for (int64_t v = 0; v < nv; v++) /* packed panels are zero-padded */
      bv[v] = (__m512bh)_mm512_loadu_ps(bp + 16 * v);
    for (int64_t i = 0; i < rows; i++) {
      __m512bh av = (__m512bh)_mm512_set1_ps(ap[i * d->a_rs + p]);
      for (int64_t v = 0; v < nv; v++)
        acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
    }
  }
  mm512_tile_store(d, acc, y, c, i0, rows, j0, cols, last);
}

KSIG(k_mm_bf16_avx512) {
  const k_mm_desc *d = desc_;
  kmm_drive(d, mm_micro_bf16, kptr(d->a, arena, weights),
            kptr(d->b, arena, weights), kptr(d->y, arena, weights),
            d->has_c ? kptr(d->c, arena, weights) : NULL, task_begin,
            task_end);
  kmm_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin, task_end);
}
