/* bf16_round.h — the vector rounding the bf16 pack steps share
 * (matmul_bf16.c: A rows and run-time B panels; conv_bf16.c: im2col
 * rows): sixteen floats to bf16, nearest even in software, bit for bit
 * kmath's kf32_to_bf16 and the reference's ir_f32_to_bf16 (NaN quieted,
 * denormals rounded, not flushed as the hardware's vcvtne2ps2bf16 would).
 * Kernel-side only: needs AVX-512 (x86_avx512 family flags). */
#ifndef INGOT_K_BF16_ROUND_H
#define INGOT_K_BF16_ROUND_H

#include <immintrin.h>

#include "generic/matmul.h"

/* Lanes [0, n) of a 16-lane mask. */
K_INLINE __mmask16 bf_mask(int64_t n) {
  return n >= 16  ? (__mmask16)0xffff
         : n <= 0 ? (__mmask16)0
                  : (__mmask16)((1u << n) - 1u);
}

/* Sixteen floats to bf16, in the low 16 bits of each 32-bit lane. */
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

/* n <= 16 floats from x (stride 1) rounded to bf16 at o; lanes past n
 * are neither read nor written. */
K_INLINE void bf_round_store(uint16_t *o, const float *x, int64_t n) {
  __mmask16 m = bf_mask(n);
  _mm512_mask_cvtepi32_storeu_epi16(o, m,
                                    bf_round16(_mm512_maskz_loadu_ps(m, x)));
}

#endif /* INGOT_K_BF16_ROUND_H */
