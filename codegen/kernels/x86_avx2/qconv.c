/* qconv.c (AVX2) — k_qconv_avx2: exact int8 products with 256-bit integer
 * arithmetic (descriptor and packed layout: generic/qconv.h).
 *
 * vpmaddubsw (u8 x s8 -> saturated int16 pairs) would be twice as fast
 * but saturates (255·127·2 > 32767); DESIGN §5 wants the default AVX2 path
 * exact, so both operands are widened to int16 and multiplied with
 * vpmaddwd (int16 pairs -> int32, never saturating for these ranges):
 *  - weights: the 64 bytes of one 4-group of K (16 channels x 4 k) are 4
 *    loads of 16 bytes, each sign-extended (vpmovsxbw) to 16 words: 4
 *    channels x k0..k3;
 *  - activations: the pixel's 4 bytes, broadcast and zero-extended
 *    (vpmovzxbw), repeat k0..k3 four times;
 *  - vpmaddwd gives, per channel, k0·w0 + k1·w1 and k2·w2 + k3·w3 in two
 *    int32 lanes; the accumulators keep the halves apart and the epilogue
 *    adds each pair (wrapping sums: the order does not matter).
 * Register block: px pixels x 4 ymm accumulators per 16 channels (nv = 1),
 * px <= 3 so accumulators, the broadcasts and one weight vector fit in the
 * 16 ymm registers.
 */
#include <immintrin.h>

#include "generic/qconv.h"

K_INLINE void qconv_tile_avx2(const k_q8_desc *d, const uint8_t *const *xr,
                              int64_t x2, const uint8_t *zpad,
                              const int8_t *w, const int32_t *bias,
                              const int32_t *corr, const float *mult,
                              uint8_t *y, int64_t npx, int64_t nvj,
                              int64_t cols, int guard) {
  __m256i acc[KQ8_PX_MAX][KQ8_NV_MAX][4];
  uint32_t sum[KQ8_PX_MAX];
  const int64_t c4n = d->cpad / 4, blk = d->kp * 16;
  for (int64_t p = 0; p < npx; p++) {
    sum[p] = 0;
    for (int64_t v = 0; v < nvj; v++)
      for (int64_t q = 0; q < 4; q++) acc[p][v][q] = _mm256_setzero_si256();
  }
  for (int64_t t01 = 0; t01 < d->k[0] * d->k[1]; t01++)
    for (int64_t t2 = 0; t2 < d->k[2]; t2++) {
      const uint8_t *xp[KQ8_PX_MAX];
      for (int64_t p = 0; p < npx; p++)
        xp[p] = kq8_pixel(d, xr[t01], zpad, x2, p, t2, guard);
      if (corr)
        for (int64_t p = 0; p < npx; p++)
          sum[p] += kq8_sum_bytes(xp[p], d->cin_g, (uint32_t)d->xflip);
      const int8_t *wt = w + (t01 * d->k[2] + t2) * c4n * 64;
      for (int64_t c4 = 0; c4 < c4n; c4++) {
        int64_t nb = d->cin_g - 4 * c4 < 4 ? d->cin_g - 4 * c4 : 4;
        __m256i a[KQ8_PX_MAX];
        for (int64_t p = 0; p < npx; p++)
          a[p] = _mm256_cvtepu8_epi16(_mm_set1_epi32((int32_t)kq8_load4(
              xp[p] + 4 * c4, nb, (uint32_t)d->xflip)));
        for (int64_t v = 0; v < nvj; v++)
          for (int64_t q = 0; q < 4; q++) {
            __m256i wq = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                (const __m128i *)(const void *)(wt + v * blk + c4 * 64 +
                                                16 * q)));
            for (int64_t p = 0; p < npx; p++)
              acc[p][v][q] =
                  _mm256_add_epi32(acc[p][v][q], _mm256_madd_epi16(wq, a[p]));
          }
      }
    }
  /* Out of the accumulators first, in a loop small enough to unroll (see
   * qconv_vnni.c): lane pairs hold the two halves of a channel's sum. */
  uint32_t half[KQ8_PX_MAX][KQ8_NV_MAX][32], sres[KQ8_PX_MAX];
  for (int64_t p = 0; p < npx; p++) {
    sres[p] = sum[p];
    for (int64_t v = 0; v < nvj; v++)
      for (int64_t q = 0; q < 4; q++)
        _mm256_storeu_si256((__m256i *)(void *)(half[p][v] + 8 * q),
                            acc[p][v][q]);
  }
  const int64_t es = d->op == KQ8_QLINEAR ? 1 : 4;
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nvj; v++) {
      uint32_t ch[16];
      for (int64_t c = 0; c < 16; c++)
        ch[c] = half[p][v][2 * c] + half[p][v][2 * c + 1];
      kq8_finish16(d, ku32x16_load(ch), bias + 16 * v,
                   corr ? corr + 16 * v : NULL, sres[p],
                   mult ? mult + 16 * v : NULL,
                   y + (p * d->ys[2] + 16 * v) * es, cols - 16 * v);
    }
}

KSIG(k_qconv_avx2) {
  kq8_drive(desc_, qconv_tile_avx2, arena, weights, task_begin, task_end);
}
