/* nvptx.c — the GPU kernel templates (design and geometry: nvptx.h; the
 * SIMT model: simt.h).  Compiled for nvptx64-nvidia-cuda into the bitcode
 * codegen/gpu.c specialises per step, and for the host into the tests'
 * SIMT emulator; both run this source.
 *
 * Arithmetic is that of generic/qconv.h, in uint32 (wrapping like the
 * reference's int32 accumulator): a_u = a ^ xflip, w' the packed int8
 * weights, acc = Σ a_u·w' + corr[c]·Σ a_u + bias'[c], then kq8_requant.
 */
#include "nvptx/nvptx.h"
#include "nvptx/simt.h"

/* The four activation bytes of 4-group |k4| of output pixel |pix| in the
 * unsigned domain (as kq8_load4): taps outside the input read the zero
 * point za_u, channels past cin_g read 0, pixels past the end read 0. */
static inline uint32_t gq_load_a(const k_q8_desc *d, const uint8_t *x,
                                 int64_t pix, int64_t k4, int64_t g) {
  if (pix >= g_q8_pixels(d) || k4 >= d->kp / 4) return 0;
  int64_t tap = k4 * 4 / d->cpad, ci = k4 * 4 % d->cpad;
  int64_t nb = d->cin_g - ci < 4 ? d->cin_g - ci : 4;
  int64_t o2 = pix % d->out[2], r = pix / d->out[2];
  int64_t o1 = r % d->out[1], o0 = r / d->out[1] % d->out[0];
  int64_t n = r / (d->out[1] * d->out[0]);
  int64_t t2 = tap % d->k[2], t1 = tap / d->k[2] % d->k[1];
  int64_t t0 = tap / (d->k[2] * d->k[1]);
  int64_t i0 = o0 * d->s[0] - d->pb[0] + t0 * d->d[0];
  int64_t i1 = o1 * d->s[1] - d->pb[1] + t1 * d->d[1];
  int64_t i2 = o2 * d->s[2] - d->pb[2] + t2 * d->d[2];
  uint32_t v = 0;
  if (i0 < 0 || i0 >= d->in[0] || i1 < 0 || i1 >= d->in[1] || i2 < 0 ||
      i2 >= d->in[2]) {
    for (int64_t i = 0; i < nb; i++) v |= (uint32_t)d->za_u << (8 * i);
    return v;
  }
  const uint8_t *p = x + n * d->xs_n + i0 * d->xs[0] + i1 * d->xs[1] +
                     i2 * d->xs[2] + g * d->cin_g + ci;
  for (int64_t i = 0; i < nb; i++)
    v |= (uint32_t)(p[i] ^ (uint32_t)d->xflip) << (8 * i);
  return v;
}

/* Finishes output (pixel |pix|, channel |c| of group |g|) from its sum
 * |acc| (bias' and the correction already added). */
static inline void gq_store(const k_q8_desc *d, uint8_t *y, const float *mult,
                            int64_t pix, int64_t g, int64_t c, int64_t cpos,
                            uint32_t acc) {
  int64_t o2 = pix % d->out[2], r = pix / d->out[2];
  int64_t o1 = r % d->out[1], o0 = r / d->out[1] % d->out[0];
  int64_t n = r / (d->out[1] * d->out[0]);
  int64_t e = n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1] + o2 * d->ys[2] +
              g * d->cout_g + c;
  if (d->op == KQ8_INTEGER) {
    memcpy(y + 4 * e, &acc, 4);
  } else if (d->op == KQ8_FLOAT) {
    float v = (float)(int32_t)acc * mult[cpos];
    memcpy(y + 4 * e, &v, 4);
  } else {
    y[e] = (uint8_t)kq8_requant(d, acc, mult[cpos]);
  }
}

GSIG(g_qconv) {
  const k_q8_desc *d = desc_;
  SIMT_SHARED(uint32_t, as, GQ_KC * GQ_TP); /* [kk][pixel] */
  SIMT_SHARED(uint32_t, ws, GQ_KC * 16);    /* [kk][channel] */
  const uint8_t *x = kptr(d->x, arena, weights);
  const uint8_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const int32_t *corr = d->has_corr ? kptr(d->corr, arena, weights) : NULL;
  const float *mult =
      d->op != KQ8_INTEGER ? kptr(d->mult, arena, weights) : NULL;
  uint8_t *y = kptr(d->y, arena, weights);
  const uint32_t tid = simt_tid(), j = tid % 16, pr = tid / 16;
  const int64_t pix0 = (int64_t)simt_bid_x() * GQ_TP;
  const int64_t g = simt_bid_y() / d->nb, b = simt_bid_y() % d->nb;
  const int64_t k4n = d->kp / 4;
  const uint8_t *wb = w + (g * d->nb + b) * d->kp * 16;
  uint32_t acc[4] = {0, 0, 0, 0}, sum[4] = {0, 0, 0, 0};
  for (int64_t kc = 0; kc < k4n; kc += GQ_KC) {
    for (uint32_t r = 0; r < GQ_KC * 16 / GQ_THREADS; r++) {
      uint32_t idx = tid + GQ_THREADS * r, v = 0;
      int64_t k4 = kc + idx / 16;
      if (k4 < k4n) memcpy(&v, wb + k4 * 64 + idx % 16 * 4, 4);
      ws[idx] = v;
    }
    for (uint32_t r = 0; r < GQ_KC * GQ_TP / GQ_THREADS; r++) {
      uint32_t idx = tid + GQ_THREADS * r;
      as[idx] = gq_load_a(d, x, pix0 + idx % GQ_TP, kc + idx / GQ_TP, g);
    }
    simt_sync();
    for (uint32_t kk = 0; kk < GQ_KC; kk++) {
      uint32_t wv = ws[kk * 16 + j];
      for (uint32_t i = 0; i < 4; i++)
        acc[i] = simt_dp4a_us(as[kk * GQ_TP + pr + 8 * i], wv, acc[i]);
    }
    /* Σa_u: lane j takes 4-group j of the chunk (GQ_KC == 16). */
    if (corr)
      for (uint32_t i = 0; i < 4; i++)
        sum[i] = simt_dp4a_us(as[j * GQ_TP + pr + 8 * i], 0x01010101u, sum[i]);
    simt_sync();
  }
  if (corr) /* the 16 lanes of a pixel row: xor 8, 4, 2, 1 stays inside */
    for (uint32_t i = 0; i < 4; i++)
      for (uint32_t m = 8; m; m /= 2) sum[i] += simt_shfl_xor(sum[i], m);
  const int64_t c = b * 16 + j, cpos = g * d->nb * 16 + c;
  if (c >= d->cout_g) return;
  for (uint32_t i = 0; i < 4; i++) {
    int64_t pix = pix0 + pr + 8 * i;
    if (pix >= g_q8_pixels(d)) break;
    uint32_t a = acc[i] + (uint32_t)bias[cpos];
    if (corr) a += (uint32_t)corr[cpos] * sum[i];
    gq_store(d, y, mult, pix, g, c, cpos, a);
  }
}

GSIG(g_qconv_dw) {
  const k_q8_desc *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  const int16_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const float *mult =
      d->op != KQ8_INTEGER ? kptr(d->mult, arena, weights) : NULL;
  uint8_t *y = kptr(d->y, arena, weights);
  const int64_t C = d->group;
  int64_t id = (int64_t)simt_bid_x() * simt_ntid() + simt_tid();
  if (id >= g_q8_pixels(d) * C) return;
  int64_t c = id % C, pix = id / C;
  int64_t o2 = pix % d->out[2], r = pix / d->out[2];
  int64_t o1 = r % d->out[1], o0 = r / d->out[1] % d->out[0];
  int64_t n = r / (d->out[1] * d->out[0]);
  uint32_t acc = 0; /* wraps like the reference's int32 */
  for (int64_t t0 = 0; t0 < d->k[0]; t0++) {
    int64_t i0 = o0 * d->s[0] - d->pb[0] + t0 * d->d[0];
    if (i0 < 0 || i0 >= d->in[0]) continue;
    for (int64_t t1 = 0; t1 < d->k[1]; t1++) {
      int64_t i1 = o1 * d->s[1] - d->pb[1] + t1 * d->d[1];
      if (i1 < 0 || i1 >= d->in[1]) continue;
      for (int64_t t2 = 0; t2 < d->k[2]; t2++) {
        int64_t i2 = o2 * d->s[2] - d->pb[2] + t2 * d->d[2];
        if (i2 < 0 || i2 >= d->in[2]) continue;
        int32_t a = (int32_t)(x[n * d->xs_n + i0 * d->xs[0] + i1 * d->xs[1] +
                                i2 * d->xs[2] + c] ^
                              (uint32_t)d->xflip) -
                    d->za_u;
        int16_t wv;
        memcpy(&wv, w + ((t0 * d->k[1] + t1) * d->k[2] + t2) * d->cpad + c,
               2);
        acc += (uint32_t)(a * wv);
      }
    }
  }
  gq_store(d, y, mult, pix, 0, c, c, acc + (uint32_t)bias[c]);
}

GSIG(g_relayout) {
  const k_relayout_desc *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  int64_t i = (int64_t)simt_bid_x() * simt_ntid() + simt_tid();
  if (i >= d->n * d->c * d->h * d->w) return;
  /* i numbers the NCHW elements: i = ((n·C + c)·H + h)·W + w. */
  int64_t w = i % d->w, h = i / d->w % d->h, c = i / (d->w * d->h) % d->c;
  int64_t n = i / (d->w * d->h * d->c);
  int64_t pitch = d->to_nhwc && d->pitch ? d->pitch : d->c; /* fold-concat */
  int64_t j = ((n * d->h + h) * d->w + w) * pitch + c; /* NHWC */
  if (d->to_nhwc)
    memcpy(dst + j * d->esize, src + i * d->esize, (size_t)d->esize);
  else
    memcpy(dst + i * d->esize, src + j * d->esize, (size_t)d->esize);
}

GSIG(g_copy) {
  const k_copy_desc *d = desc_;
  const uint8_t *src = kptr(d->src, arena, weights);
  uint8_t *dst = kptr(d->dst, arena, weights);
  int64_t i = (int64_t)simt_bid_x() * simt_ntid() + simt_tid();
  if (i < d->bytes) dst[i] = src[i];
}

/* g_qconv_mma (nvptx.h): the product of g_qconv on the tensor cores.  The
 * block (GM_THREADS = 4 warps) computes GM_TP output pixels x one 16-
 * channel packed block; warp w owns pixel rows 16w..16w+15 of the tile and
 * both 8-channel halves.  Staging is g_qconv's: per chunk of GM_KC
 * 4-groups, activations as[kk][pixel] and weights ws[kk][channel] (words
 * of 4 K-consecutive bytes, the low byte first, which is also the byte
 * order of an mma fragment register).  One mma k-step covers 8 4-groups
 * (K = 32), so with g = lane / 4, t = lane % 4 and the step's first
 * 4-group s (simt.h's fragment layout):
 *   a = as[s+t][16w+g], as[s+t][16w+g+8], as[s+4+t][16w+g],
 *       as[s+4+t][16w+g+8];
 *   b = ws[s+t][8h+g], ws[s+4+t][8h+g] for channel half h.
 * Σa_u (has_corr) is one more mma per k-step with B all ones: every
 * column of its result holds its row's sum, so each lane gets the sums of
 * exactly its two output rows (no shuffles).  Epilogue as g_qconv: lane
 * value c[i] is pixel 16w+g (+8 for i >= 2), channel 8h+2t+(i & 1). */
GSIG(g_qconv_mma) {
  const k_q8_desc *d = desc_;
  SIMT_SHARED(uint32_t, as, GM_KC * GM_TP); /* [kk][pixel] */
  SIMT_SHARED(uint32_t, ws, GM_KC * 16);    /* [kk][channel] */
  const uint8_t *x = kptr(d->x, arena, weights);
  const uint8_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const int32_t *corr = d->has_corr ? kptr(d->corr, arena, weights) : NULL;
  const float *mult =
      d->op != KQ8_INTEGER ? kptr(d->mult, arena, weights) : NULL;
  uint8_t *y = kptr(d->y, arena, weights);
  const uint32_t tid = simt_tid(), wp = tid / SIMT_WARP;
  const uint32_t gq = tid % SIMT_WARP / 4, tq = tid % 4;
  const int64_t pix0 = (int64_t)simt_bid_x() * GM_TP;
  const int64_t g = simt_bid_y() / d->nb, b = simt_bid_y() % d->nb;
  const int64_t k4n = d->kp / 4;
  const uint8_t *wb = w + (g * d->nb + b) * d->kp * 16;
  const uint32_t ones[2] = {0x01010101u, 0x01010101u};
  uint32_t acc[2][4] = {{0, 0, 0, 0}, {0, 0, 0, 0}}, sum[4] = {0, 0, 0, 0};
  for (int64_t kc = 0; kc < k4n; kc += GM_KC) {
    for (uint32_t r = 0; r < GM_KC * 16 / GM_THREADS; r++) {
      uint32_t idx = tid + GM_THREADS * r, v = 0;
      int64_t k4 = kc + idx / 16;
      if (k4 < k4n) memcpy(&v, wb + k4 * 64 + idx % 16 * 4, 4);
      ws[idx] = v;
    }
    for (uint32_t r = 0; r < GM_KC * GM_TP / GM_THREADS; r++) {
      uint32_t idx = tid + GM_THREADS * r;
      as[idx] = gq_load_a(d, x, pix0 + idx % GM_TP, kc + idx / GM_TP, g);
    }
    simt_sync();
    for (uint32_t s = 0; s < GM_KC; s += 8) {
      const uint32_t *ap = as + (s + tq) * GM_TP + 16 * wp + gq;
      const uint32_t a[4] = {ap[0], ap[8], ap[4 * GM_TP], ap[4 * GM_TP + 8]};
      for (uint32_t h = 0; h < 2; h++) {
        const uint32_t *bp = ws + (s + tq) * 16 + 8 * h + gq;
        const uint32_t bf[2] = {bp[0], bp[4 * 16]};
        simt_mma_us(acc[h], a, bf, acc[h]);
      }
      if (corr) simt_mma_us(sum, a, ones, sum);
    }
    simt_sync();
  }
  for (uint32_t h = 0; h < 2; h++)
    for (uint32_t i = 0; i < 4; i++) {
      const int64_t pix = pix0 + 16 * wp + gq + (i >= 2 ? 8 : 0);
      const int64_t c = b * 16 + 8 * h + 2 * tq + (i & 1);
      const int64_t cpos = g * d->nb * 16 + c;
      if (c >= d->cout_g || pix >= g_q8_pixels(d)) continue;
      uint32_t a = acc[h][i] + (uint32_t)bias[cpos];
      if (corr) a += (uint32_t)corr[cpos] * sum[i];
      gq_store(d, y, mult, pix, g, c, cpos, a);
    }
}
