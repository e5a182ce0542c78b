/* mm_tile.h — the accumulator tile both AVX-512 product micro-kernels
 * share (kmm_micro_fn, generic/matmul.h): matmul.c's float FMA one and
 * matmul_bf16.c's vdpbf16ps one.  A tile is up to MM512_MR_MAX rows of
 * d->nv 16-float vectors; before a K pass it starts at zero (first pass)
 * or at what Y holds, and after it goes back to Y, with the Gemm epilogue
 * y = alpha·acc + beta·C on the last pass.  Columns past |cols| are
 * masked. */
#ifndef INGOT_KERNELS_X86_AVX512_MM_TILE_H
#define INGOT_KERNELS_X86_AVX512_MM_TILE_H

#include <immintrin.h>

#include "generic/matmul.h"

#define MM512_MR_MAX 16
#define MM512_NV_MAX 4

/* Lanes [0, n) of a vector (none when n <= 0). */
K_INLINE __mmask16 mm_mask(int64_t n) {
  return n >= 16  ? (__mmask16)0xffff
         : n <= 0 ? (__mmask16)0
                  : (__mmask16)((1u << n) - 1u);
}

K_INLINE void mm512_tile_load(const k_mm_desc *d,
                              __m512 acc[][MM512_NV_MAX], const float *y,
                              int64_t i0, int64_t rows, int64_t j0,
                              int64_t cols, int first) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t v = 0; v < d->nv; v++)
      acc[i][v] = first ? _mm512_setzero_ps()
                        : _mm512_maskz_loadu_ps(mm_mask(cols - 16 * v),
                                                y + (i0 + i) * d->y_rs + j0 +
                                                    16 * v);
}

K_INLINE void mm512_tile_store(const k_mm_desc *d,
                               __m512 acc[][MM512_NV_MAX], float *y,
                               const float *c, int64_t i0, int64_t rows,
                               int64_t j0, int64_t cols, int last) {
  const __m512 alpha = _mm512_set1_ps(d->alpha), beta = _mm512_set1_ps(d->beta);
  for (int64_t i = 0; i < rows; i++) {
    float *yr = y + (i0 + i) * d->y_rs + j0;
    const float *cr = c ? c + (i0 + i) * d->c_rs + j0 * d->c_cs : NULL;
    for (int64_t v = 0; v < d->nv; v++) {
      __mmask16 m = mm_mask(cols - 16 * v);
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

#endif /* INGOT_KERNELS_X86_AVX512_MM_TILE_H */
