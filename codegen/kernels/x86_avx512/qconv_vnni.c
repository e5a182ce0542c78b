/* qconv_vnni.c — k_qconv_vnni: int8 convolutions and products with
 * AVX-512 VNNI vpdpbusd (descriptor and packed layout: generic/qconv.h).
 *
 * The packed layout is vpdpbusd's operand: for one 4-group of K, the 64
 * bytes of a 16-channel block are one zmm (lane j = channel j's 4 weights).
 * A register block is px pixels x nv zmm accumulators (16 channels each;
 * the lowering picks px·nv <= 24 of the 32 zmm, e.g. 6 x 4); per 4-group
 * it loads nv weight vectors once and broadcasts each pixel's 4
 * activation bytes (vpbroadcastd) into px·nv vpdpbusd.  vpdpbusd
 * multiplies unsigned bytes by signed bytes and adds the four int32
 * products to the lane without saturation (the vpdpbusds form saturates),
 * so the sum wraps exactly like the reference's int32 accumulator.
 * Loops over taps and 4-groups have constant trip counts once the
 * descriptor is constant, so LLVM unrolls them into straight vpdpbusd.
 */
#include <immintrin.h>

#include "generic/qconv.h"

K_INLINE void qconv_tile_vnni(const k_q8_desc *d, const uint8_t *const *xr,
                              int64_t x2, const uint8_t *zpad,
                              const int8_t *w, const int32_t *bias,
                              const int32_t *corr, const float *mult,
                              uint8_t *y, int64_t npx, int64_t nvj,
                              int64_t cols, int guard) {
  __m512i acc[KQ8_PX_MAX][KQ8_NV_MAX];
  uint32_t sum[KQ8_PX_MAX];
  const int64_t c4n = d->cpad / 4, blk = d->kp * 16;
  for (int64_t p = 0; p < npx; p++) {
    sum[p] = 0;
    for (int64_t v = 0; v < nvj; v++) acc[p][v] = _mm512_setzero_si512();
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
        __m512i wv[KQ8_NV_MAX];
        for (int64_t v = 0; v < nvj; v++)
          wv[v] = _mm512_loadu_si512(
              (const void *)(wt + v * blk + c4 * 64));
        for (int64_t p = 0; p < npx; p++) {
          __m512i a = _mm512_set1_epi32((int32_t)kq8_load4(
              xp[p] + 4 * c4, nb, (uint32_t)d->xflip));
          for (int64_t v = 0; v < nvj; v++)
            acc[p][v] = _mm512_dpbusd_epi32(acc[p][v], a, wv[v]);
        }
      }
    }
  /* Out of the accumulators first, in a loop small enough to unroll: the
   * epilogue's loops may stay loops, and indexing acc[][] with their
   * variables would keep acc in memory (stored every K step). */
  uint32_t res[KQ8_PX_MAX][KQ8_NV_MAX][16], sres[KQ8_PX_MAX];
  for (int64_t p = 0; p < npx; p++) {
    sres[p] = sum[p];
    for (int64_t v = 0; v < nvj; v++) memcpy(res[p][v], &acc[p][v], 64);
  }
  const int64_t es = d->op == KQ8_QLINEAR ? 1 : 4;
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nvj; v++)
      kq8_finish16(d, ku32x16_load(res[p][v]), bias + 16 * v,
                   corr ? corr + 16 * v : NULL, sres[p],
                   mult ? mult + 16 * v : NULL,
                   y + (p * d->ys[2] + 16 * v) * es, cols - 16 * v);
}

KSIG(k_qconv_vnni) {
  kq8_drive(desc_, qconv_tile_vnni, arena, weights, task_begin, task_end);
}
