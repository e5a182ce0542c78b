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

#define BF_MR_MAX 16
#define BF_NV_MAX 4

K_INLINE __mmask16 bf_mask(int64_t n) {
  return n >= 16  ? (__mmask16)0xffff
         : n <= 0 ? (__mmask16)0
                  : (__mmask16)((1u << n) - 1u);
}

/* Sixteen floats to bf16 (low 16 bits of each lane), as kf32_to_bf16. */
K_INLINE __m512i bf_round16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i hi = _mm512_srli_epi32(u, 16);
  __m512i r = _mm512_add_epi32(
      u, _mm512_add_epi32(_mm512_and_si512(hi, _mm512_set1_epi32(1)),
                          _mm512_set1_epi32(0x7fff)));
  r = _mm512_srli_epi32(r, 16);
  __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                              _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(r, nan,
                               _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
}

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
        for (int64_t p = 0; p < k; p += 16) {
          __mmask16 m = bf_mask(k - p);
          _mm512_mask_cvtepi32_storeu_epi16(
              o + p, m, bf_round16(_mm512_maskz_loadu_ps(m, xr + p)));
        }
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

/* The micro-tile (kmm_micro_fn, generic/matmul.h); k0, k1 count pairs. */
K_INLINE void mm_micro_bf16(const k_mm_desc *d, const float *a,
                            const float *bp, int64_t brs, float *y,
                            const float *c, int64_t i0, int64_t rows,
                            int64_t j0, int64_t cols, int64_t k0, int64_t k1,
                            int first, int last) {
  const int64_t nv = d->nv;
  __m512 acc[BF_MR_MAX][BF_NV_MAX];
  for (int64_t i = 0; i < rows; i++)
    for (int64_t v = 0; v < nv; v++)
      acc[i][v] = first ? _mm512_setzero_ps()
                        : _mm512_maskz_loadu_ps(bf_mask(cols - 16 * v),
                                                y + (i0 + i) * d->y_rs + j0 +
                                                    16 * v);
  const float *ap = a + i0 * d->a_rs;
  for (int64_t p = k0; p < k1; p++, bp += brs) {
    __m512bh bv[BF_NV_MAX];
    for (int64_t v = 0; v < nv; v++) /* packed panels are zero-padded */
      bv[v] = (__m512bh)_mm512_loadu_ps(bp + 16 * v);
    for (int64_t i = 0; i < rows; i++) {
      __m512bh av = (__m512bh)_mm512_set1_ps(ap[i * d->a_rs + p]);
      for (int64_t v = 0; v < nv; v++)
        acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
    }
  }
  const __m512 alpha = _mm512_set1_ps(d->alpha), beta = _mm512_set1_ps(d->beta);
  for (int64_t i = 0; i < rows; i++) {
    float *yr = y + (i0 + i) * d->y_rs + j0;
    const float *cr = c ? c + (i0 + i) * d->c_rs + j0 * d->c_cs : NULL;
    for (int64_t v = 0; v < nv; v++) {
      __mmask16 m = bf_mask(cols - 16 * v);
      __m512 r = acc[i][v];
      if (last) {
        r = _mm512_mul_ps(r, alpha);
        if (cr) {
          __m512 cv = d->c_cs ? _mm512_maskz_loadu_ps(m, cr + 16 * v)
                              : _mm512_set1_ps(cr[0]);
          r = _mm512_fmadd_ps(cv, beta, r);
        }
      }
      _mm512_mask_storeu_ps(yr + 16 * v, m, r);
    }
  }
}

KSIG(k_mm_bf16_avx512) {
  const k_mm_desc *d = desc_;
  kmm_drive(d, mm_micro_bf16, kptr(d->a, arena, weights),
            kptr(d->b, arena, weights), kptr(d->y, arena, weights),
            d->has_c ? kptr(d->c, arena, weights) : NULL, task_begin,
            task_end);
  kmm_epilogue(d, &d->epi, kptr(d->y, arena, weights), task_begin, task_end);
}
