/* qconv.c — int8 product templates for every target (descriptor, packed
 * layout and arithmetic: qconv.h, docs/int8.md "Packed weights").
 *
 *  - k_qconv: the generic family's convolution/GEMM: register blocks of px
 *    pixels x nv 16-channel vectors over the packed weights, in C vectors
 *    of 16 int32 lanes (below), sums in uint32 (wrapping like the
 *    reference's int32).
 *  - k_qconv_dw: depthwise convolutions, used by every family.  Per tap,
 *    16 channels of (a - za) and of int16 (w - zw) widen to int32 and
 *    multiply: both operands have 17+ sign bits, so x86 LLVM selects
 *    vpmaddwd (exact, no int16 saturation).  Padding taps are skipped:
 *    (za - za)·w is 0.  VNNI's 4-groups do not fit a depthwise product (K
 *    is the kernel's taps, per channel).
 */
#include "generic/qconv.h"

/* The register block of k_qconv (kq8_tile_fn, qconv.h).  Sixteen channels
 * at a time in int32 lanes: the 64 bytes of a 4-group of K are 16 int32,
 * each holding one channel's 4 weights, and byte i of every lane is
 * sign-extended in place by two shifts.  Each product has both operands
 * within int16 (|w| <= 128, a_u <= 255), which x86 LLVM turns into pmaddwd
 * even on SSE2; four products sum to at most 130560, and only the running
 * sum wraps (uint32, like the reference's int32). */
K_INLINE void qconv_tile_generic(const k_q8_desc *d, const uint8_t *const *xr,
                                 int64_t x2, const uint8_t *zpad,
                                 const int8_t *w, const int32_t *bias,
                                 const int32_t *corr, const float *mult,
                                 uint8_t *y, int64_t npx, int64_t nvj,
                                 int64_t cols, int guard) {
  ku32x16 acc[KQ8_PX_MAX][KQ8_NV_MAX];
  uint32_t sum[KQ8_PX_MAX];
  const int64_t c4n = d->cpad / 4, blk = d->kp * 16;
  for (int64_t p = 0; p < npx; p++) {
    sum[p] = 0;
    for (int64_t v = 0; v < nvj; v++) acc[p][v] = (ku32x16){0};
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
        int32_t a[KQ8_PX_MAX][4];
        for (int64_t p = 0; p < npx; p++) {
          uint32_t a4 = kq8_load4(xp[p] + 4 * c4, nb, (uint32_t)d->xflip);
          for (int i = 0; i < 4; i++) a[p][i] = (int32_t)(a4 >> (8 * i) & 255);
        }
        for (int64_t v = 0; v < nvj; v++) {
          ku32x16 r = ku32x16_load(wt + v * blk + c4 * 64);
          ki32x16 w0 = (ki32x16)(r << 24) >> 24, w1 = (ki32x16)(r << 16) >> 24;
          ki32x16 w2 = (ki32x16)(r << 8) >> 24, w3 = (ki32x16)r >> 24;
          for (int64_t p = 0; p < npx; p++)
            acc[p][v] += (ku32x16)(w0 * a[p][0] + w1 * a[p][1] +
                                   w2 * a[p][2] + w3 * a[p][3]);
        }
      }
    }
  /* Out of the accumulators in a loop small enough to unroll, so acc
   * stays in registers (qconv_vnni.c says why). */
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

KSIG(k_qconv) {
  kq8_drive(desc_, qconv_tile_generic, arena, weights, task_begin, task_end);
}

/*===------------------------------------------------------------------===*/
/* Depthwise                                                               */
/*===------------------------------------------------------------------===*/

typedef int16_t ki16x16 __attribute__((vector_size(32)));
typedef uint8_t ku8x16v __attribute__((vector_size(16)));

/* 16 activations (lanes [0, n)) as int32 a_u - za_u. */
K_INLINE ki32x16 qdw_load_x(const k_q8_desc *d, const uint8_t *p, int64_t n) {
  ku8x16v b = {0};
  if (n >= 16)
    memcpy(&b, p, 16);
  else
    for (int64_t l = 0; l < 16; l++)
      if (l < n) b[l] = p[l];
  b ^= (uint8_t)d->xflip;
  return __builtin_convertvector(b, ki32x16) - d->za_u;
}

/* The register block of k_qconv_dw: npx pixels from o2 of one output row,
 * channels [c0, c0 + cols) (nvj vectors). */
K_INLINE void qdw_tile(const k_q8_desc *d, const uint8_t *x, const int16_t *w,
                       const int32_t *bias, const float *mult, uint8_t *y,
                       int64_t i0b, int64_t i1b, int64_t o2, int64_t npx,
                       int64_t nvj, int64_t cols, int guard) {
  ki32x16 acc[KQ8_PX_MAX][KQ8_NV_MAX];
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nvj; v++) acc[p][v] = (ki32x16){0};
  for (int64_t t0 = 0; t0 < d->k[0]; t0++) {
    int64_t i0 = i0b + t0 * d->d[0];
    if (i0 < 0 || i0 >= d->in[0]) continue;
    for (int64_t t1 = 0; t1 < d->k[1]; t1++) {
      int64_t i1 = i1b + t1 * d->d[1];
      if (i1 < 0 || i1 >= d->in[1]) continue;
      const uint8_t *xrow = x + i0 * d->xs[0] + i1 * d->xs[1];
      for (int64_t t2 = 0; t2 < d->k[2]; t2++) {
        const int16_t *wt = w + ((t0 * d->k[1] + t1) * d->k[2] + t2) * d->cpad;
        ki32x16 wv[KQ8_NV_MAX];
        for (int64_t v = 0; v < nvj; v++) {
          ki16x16 h;
          memcpy(&h, wt + 16 * v, sizeof h);
          wv[v] = __builtin_convertvector(h, ki32x16);
        }
        for (int64_t p = 0; p < npx; p++) {
          int64_t i2 = (o2 + p) * d->s[2] - d->pb[2] + t2 * d->d[2];
          if (guard && (i2 < 0 || i2 >= d->in[2])) continue;
          const uint8_t *xp = xrow + i2 * d->xs[2];
          for (int64_t v = 0; v < nvj; v++)
            acc[p][v] += qdw_load_x(d, xp + 16 * v, cols - 16 * v) * wv[v];
        }
      }
    }
  }
  /* Out of the accumulators in a loop small enough to unroll, so acc
   * stays in registers (qconv_vnni.c says why). */
  uint32_t res[KQ8_PX_MAX][KQ8_NV_MAX][16];
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nvj; v++) memcpy(res[p][v], &acc[p][v], 64);
  const int64_t es = d->op == KQ8_QLINEAR ? 1 : 4;
  for (int64_t p = 0; p < npx; p++)
    for (int64_t v = 0; v < nvj; v++)
      kq8_finish16(d, ku32x16_load(res[p][v]), bias + 16 * v, NULL, 0,
                   mult ? mult + 16 * v : NULL,
                   y + ((o2 + p) * d->ys[2] + 16 * v) * es, cols - 16 * v);
}

KSIG(k_qconv_dw) {
  const k_q8_desc *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  const int16_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const float *mult =
      d->op != KQ8_INTEGER ? kptr(d->mult, arena, weights) : NULL;
  uint8_t *y = kptr(d->y, arena, weights);
  const int64_t es = d->op == KQ8_QLINEAR ? 1 : 4;
  const int64_t cw = 16 * d->nv, px = d->px, C = d->group;
  for (int64_t t = task_begin; t < task_end; t++) {
    kq8_work wk = kq8_work_of(d, t);
    for (int64_t cb = wk.cb0; cb < wk.cb1; cb++) {
      /* Constant block widths at every call: full blocks, or the last,
       * narrower one (cols_last channels). */
      const int64_t cols_last = C - (d->cblocks - 1) * cw;
      const int64_t nvl = (cols_last + 15) / 16;
      int64_t c0 = cb * cw;
      int last = c0 + cw > C;
      for (int64_t r = wk.r0; r < wk.r1; r++) {
        int64_t n = r / (d->out[0] * d->out[1]);
        int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
        int64_t i0b = o0 * d->s[0] - d->pb[0], i1b = o1 * d->s[1] - d->pb[1];
        const uint8_t *xn = x + n * d->xs_n + c0;
        const int16_t *wc = w + c0;
        const int32_t *bc = bias + c0;
        const float *mc = mult ? mult + c0 : NULL;
        uint8_t *yr =
            y + (n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1] + c0) * es;
        int64_t o2 = wk.p0;
        for (; o2 + px <= wk.p1; o2 += px) {
          int guard = o2 < d->olo || o2 + px > d->ohi;
          if (last)
            qdw_tile(d, xn, wc, bc, mc, yr, i0b, i1b, o2, px, nvl, cols_last,
                     1);
          else if (guard)
            qdw_tile(d, xn, wc, bc, mc, yr, i0b, i1b, o2, px, d->nv, cw, 1);
          else
            qdw_tile(d, xn, wc, bc, mc, yr, i0b, i1b, o2, px, d->nv, cw, 0);
        }
        if (o2 < wk.p1) {
          if (last)
            qdw_tile(d, xn, wc, bc, mc, yr, i0b, i1b, o2, d->out[2] % px, nvl,
                     cols_last, 1);
          else
            qdw_tile(d, xn, wc, bc, mc, yr, i0b, i1b, o2, d->out[2] % px,
                     d->nv, cw, 1);
        }
      }
    }
  }
}
