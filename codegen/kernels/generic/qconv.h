/* qconv.h — the int8 product kernels: descriptor, packed-weight layout and
 * the loops every family shares.  One descriptor serves QLinearConv,
 * ConvInteger, QLinearMatMul, MatMulInteger (and com.microsoft QGemm) with
 * constant weights and constant quantisation parameters; the lowering
 * (codegen/lower_q8.c) fills it, prepacks the weights and folds the bias.
 * Products whose weights or parameters are graph inputs stay on k_conv_q8
 * and k_mm_q8 (conv.h, matmul.h), which read the model's layout at run time.
 *
 * Arithmetic (docs/int8.md "Kernels", DESIGN.md §5).  Activations are taken
 * in the unsigned domain a_u = a ^ xflip (xflip = 0x80 for int8
 * activations, 0 for uint8: a_u = a + 128), weights as int8
 * w' = w - wflip (wflip = 128 for uint8 weights, 0 for int8).  Then
 *   Σ_k (a - za)(w - zw[c]) + bias_q[c]
 *     = Σ_k a_u·w'  +  corr[c]·Σ_k a_u  +  bias'[c]          (mod 2^32)
 * with corr[c] = wflip - zw[c] and
 *   bias'[c] = bias_q[c] - za_u·(Σ_k w[c,k] - K·zw[c]),  za_u = za ^ xflip,
 * K the model's reduction length (taps x input channels of a group).  A
 * padding tap reads the zero point (a_u = za_u): its term
 * za_u·w' + corr·za_u equals the za_u·(w - zw) that bias' takes off, so it
 * contributes 0, as in the reference.  corr is 0 in the common case (int8
 * weights with zero point 0) and the Σa term is then skipped (has_corr 0).
 * QLinear outputs are y = clamp(rne(float(acc)·M[c]) + zy, qmin, qmax),
 * M[c] = float(s_x·s_w[c]) / s_y computed at build time in that order (the
 * reference's); the lowering only takes this path when every M[c] is finite,
 * so float(acc)·M[c] is never NaN and a float clamp before rounding is exact.
 * Integer outputs (ConvInteger, MatMulInteger) store acc as int32; float
 * outputs (QGemm without y_scale) store float(acc)·M[c].
 *
 * Packed weights (the layout every family, AMX included, reads):
 *   K order: k = tap·cpad + ci — tap-major (tap = (t0·k1 + t1)·k2 + t2),
 *     then the input channel ci of the group; cpad = cin_g rounded up to a
 *     multiple of 4 (entries ci >= cin_g hold 0), so a group of 4
 *     consecutive k never straddles two taps.  kp = taps·cpad.
 *   Output channels in blocks of 16 (nb = ceil(cout_g / 16) per group; the
 *     channels past cout_g hold 0).
 *   Bytes: w[((g·nb + b)·(kp/4) + k4)·64 + j·4 + i] = w'(channel 16b + j,
 *     k = 4·k4 + i) — for every 4-group k4 of block b, 64 bytes: 16
 *     channels x 4 consecutive k, i.e. one zmm operand of vpdpbusd (lane j
 *     = the 4 weights of channel j) and one row of an AMX B tile (a block's
 *     rows are contiguous, stride 64 bytes).  Blocks are 64-byte aligned.
 *   Per channel, [group][nb·16] (padded channels 0): bias' (int32), corr
 *     (int32, only when has_corr), M (float32, QLinear only).
 *   Depthwise (cin_g = cout_g = 1) uses its own layout (k_qconv_dw, no
 *     VNNI grouping): wdw[tap·cpad_dw + c] = (int16)(w[c,tap] - zw[c]) with
 *     cpad_dw = C rounded up to 64, and bias' = bias_q (no za·Σw folding:
 *     the template subtracts za itself and skips padding taps).
 *
 * Geometry and addressing are those of conv.h, in NHWC (channels
 * contiguous, xs_c = ys_c = 1), three spatial dims right-aligned.  A
 * product [M, K] x [K, N] is a 1x1 convolution over M pixels of one row
 * (out[2] = M, xs[2] = a's row stride, ys[2] = y's row stride), so one
 * template covers GEMM, 1x1 and kxk convolutions.
 *
 * Work: rows r = (n, o0, o1) of the output, each split into pixel chunks
 * of pchunk pixels (a multiple of px; the last chunk is shorter), and
 * channel blocks of 16·nv channels within a group (cblocks = group·nbv,
 * nbv = ceil(cout_g / (16·nv))).  Task t covers row chunk
 * t / (psplit·csplit), pixel chunk (t / csplit) % psplit and channel-block
 * chunk t % csplit (kchunk of rows and blocks).  A task takes its channel
 * blocks one at a time (their weights, kp·16·nv bytes, stay in L1/L2) and
 * runs every pixel of its rows in register blocks of px pixels x nv
 * vectors.  Blocks whose pixels all read inside the input along the last
 * dim (interior [olo, ohi)) run unguarded; the others read the zero-point
 * pixel |zpad| for taps outside.  Rows outside the input along the first
 * two dims read zpad for the whole tap.
 */
#ifndef INGOT_K_QCONV_H
#define INGOT_K_QCONV_H

#include "generic/conv.h"

enum k_q8_op {
  KQ8_QLINEAR = 0, /* requantised uint8/int8 output (QLinearConv/MatMul) */
  KQ8_INTEGER = 1, /* int32 output (ConvInteger, MatMulInteger) */
  KQ8_FLOAT = 2,   /* float32 output float(acc)·M[c] (QGemm without y_scale) */
};

/* Register blocks: at most KQ8_PX_MAX pixels x KQ8_NV_MAX vectors. */
#define KQ8_PX_MAX 16
#define KQ8_NV_MAX 4

typedef struct k_q8_desc {
  int32_t op;       /* k_q8_op */
  int32_t ytype;    /* ONNX dtype of Y: uint8 (2), int8 (3), int32 (6) */
  int32_t xflip;    /* 0x80: int8 activations (a_u = a ^ 0x80); 0: uint8 */
  int32_t has_corr; /* some corr[c] != 0: add corr[c]·Σ a_u */
  int32_t zy, qmin, qmax; /* QLinear output zero point and range */
  int32_t depthwise;      /* k_qconv_dw and its layout */
  int32_t za_u;           /* activation zero point, unsigned domain */
  int32_t pad0_;
  kbuf x, y;
  kbuf w;    /* packed weights (see above) */
  kbuf bias; /* int32 bias' [group][nb*16] */
  kbuf corr; /* int32 [group][nb*16], when has_corr */
  kbuf mult; /* float32 M [group][nb*16], when QLINEAR or FLOAT */
  kbuf zpad; /* cpad bytes (cpad_dw for depthwise) holding za: what
                taps outside the input read */

  int64_t batch, group, cin_g, cout_g;
  int64_t cpad;   /* cin_g rounded up to 4 (depthwise: C rounded to 64) */
  int64_t taps;   /* k[0]*k[1]*k[2] */
  int64_t kp;     /* taps * cpad: packed K of one channel block */
  int64_t nb;     /* 16-channel blocks per group: ceil(cout_g / 16) */
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
  int64_t xs_n, xs[3]; /* element strides of X (channels at stride 1) */
  int64_t ys_n, ys[3]; /* element strides of Y (channels at stride 1) */

  /* Work split and register blocking (see above). */
  int64_t rows, rsplit, psplit, csplit; /* tasks = rsplit*psplit*csplit */
  int64_t pchunk;                       /* pixels per chunk of a row */
  int64_t nbv;                          /* channel blocks per group */
  int64_t cblocks;                      /* group * nbv */
  int64_t olo, ohi;                     /* interior pixels of every row */
  int64_t px, nv; /* register block: px pixels x nv 16-channel vectors */
} k_q8_desc;

/*===------------------------------------------------------------------===*/
/* Shared helpers                                                          */
/*===------------------------------------------------------------------===*/

/* A task's rows, pixels of each row and channel blocks. */
typedef struct kq8_work {
  int64_t r0, r1, p0, p1, cb0, cb1;
} kq8_work;

K_INLINE kq8_work kq8_work_of(const k_q8_desc *d, int64_t t) {
  int64_t ct = t % d->csplit, pt = t / d->csplit % d->psplit;
  int64_t rt = t / (d->csplit * d->psplit);
  int64_t p0 = pt * d->pchunk, p1 = p0 + d->pchunk;
  kq8_work w = {kchunk(d->rows, d->rsplit, rt),
                kchunk(d->rows, d->rsplit, rt + 1),
                p0 < d->out[2] ? p0 : d->out[2],
                p1 < d->out[2] ? p1 : d->out[2],
                kchunk(d->cblocks, d->csplit, ct),
                kchunk(d->cblocks, d->csplit, ct + 1)};
  return w;
}

/* Four activation bytes of one k-group as an int32 (little-endian), in the
 * unsigned domain: |n| (<= 4, constant once specialised) bytes are read,
 * the others are 0 (their weights are 0; Σa must not see them). */
K_INLINE uint32_t kq8_load4(const uint8_t *p, int64_t n, uint32_t xflip) {
  uint32_t v;
  if (n >= 4) {
    memcpy(&v, p, 4);
    return v ^ (xflip * 0x01010101u);
  }
  v = 0;
  for (int64_t i = 0; i < n; i++) v |= (uint32_t)(p[i] ^ xflip) << (8 * i);
  return v;
}

/* Σ of a pixel's |n| activation bytes of one tap, unsigned domain (the
 * corr[c]·Σa term; a plain loop LLVM vectorises). */
K_INLINE uint32_t kq8_sum_bytes(const uint8_t *p, int64_t n, uint32_t xflip) {
  uint32_t s = 0;
  for (int64_t i = 0; i < n; i++) s += (uint32_t)(p[i] ^ xflip);
  return s;
}

/* Requantises one accumulator (DESIGN §5; exact: see the file comment). */
K_INLINE int32_t kq8_requant(const k_q8_desc *d, uint32_t acc, float m) {
  return k_saturate_rne((float)(int32_t)acc * m, d->zy, d->qmin, d->qmax);
}

/* Sixteen int32/uint32 lanes (a zmm, two ymm); arithmetic in uint32 wraps
 * like the reference's int32 accumulator. */
typedef uint32_t ku32x16 __attribute__((vector_size(64)));
typedef int32_t ki32x16 __attribute__((vector_size(64)));

K_INLINE ku32x16 ku32x16_load(const void *p) {
  ku32x16 v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* Finishes 16 channels of one pixel: adds bias' (and corr·Σa), then stores
 * lanes [0, n) to |y| as int32 (KQ8_INTEGER) or requantised bytes.  |bias|,
 * |corr| and |mult| hold whole padded vectors.  Requantisation in vector
 * form, exact with DESIGN §5: v = float(acc)·M is finite (M is), so
 * clamping v to [qmin - zy, qmax - zy] before rounding changes nothing but
 * the range, and adding then subtracting 1.5·2^23 rounds |v| < 2^22 half
 * to even, as nearbyintf does. */
K_INLINE void kq8_finish16(const k_q8_desc *d, ku32x16 acc,
                           const int32_t *bias, const int32_t *corr,
                           uint32_t sum, const float *mult, uint8_t *y,
                           int64_t n) {
  acc += ku32x16_load(bias);
  if (corr) acc += ku32x16_load(corr) * sum;
  if (d->op == KQ8_INTEGER) {
    if (n >= 16) {
      memcpy(y, &acc, 64);
    } else {
      for (int64_t l = 0; l < 16; l++)
        if (l < n) memcpy(y + 4 * l, (const uint32_t *)&acc + l, 4);
    }
    return;
  }
  kf16 v = __builtin_convertvector((ki32x16)acc, kf16) * kf16_load(mult);
  if (d->op == KQ8_FLOAT) {
    kf16_store_part((float *)(void *)y, 1, n, v);
    return;
  }
  const float lo = (float)(d->qmin - d->zy), hi = (float)(d->qmax - d->zy);
  v = __builtin_elementwise_max(v, (kf16){0} + lo);
  v = __builtin_elementwise_min(v, (kf16){0} + hi);
  const float magic = 12582912.0f; /* 1.5 * 2^23 */
  v = (v + magic) - magic;
  ki32x16 q = __builtin_convertvector(v, ki32x16) + d->zy;
  typedef uint8_t ku8x16 __attribute__((vector_size(16)));
  ku8x16 b = __builtin_convertvector(q, ku8x16); /* in range: no wrap */
  if (n >= 16) {
    memcpy(y, &b, 16);
  } else {
    for (int64_t l = 0; l < 16; l++)
      if (l < n) y[l] = b[l];
  }
}

/* A register block of a family's template: npx pixels from o2 of one
 * output row, nvj vectors (cols valid channels) of one channel block.
 * |xr| holds, for each of the k[0]*k[1] (t0, t1) taps, the input row to
 * read (NULL: outside the input, read zpad); x2 is the input position of
 * pixel 0's tap 0 along the last dim; |guard|: some pixel may read outside
 * along the last dim. */
typedef void (*kq8_tile_fn)(const k_q8_desc *d, const uint8_t *const *xr,
                            int64_t x2, const uint8_t *zpad, const int8_t *w,
                            const int32_t *bias, const int32_t *corr,
                            const float *mult, uint8_t *y, int64_t npx,
                            int64_t nvj, int64_t cols, int guard);

#define KQ8_MAX_TAPS01 256 /* k[0]*k[1] rows of one output row */

/* The loops every int8 product template shares: tasks, channel blocks,
 * rows, register blocks.  |tile| is a constant at every call, so it
 * inlines. */
K_INLINE void kq8_drive(const k_q8_desc *d, kq8_tile_fn tile, uint8_t *arena,
                        const uint8_t *weights, int64_t task_begin,
                        int64_t task_end) {
  const uint8_t *x = kptr(d->x, arena, weights);
  const int8_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const int32_t *corr = d->has_corr ? kptr(d->corr, arena, weights) : NULL;
  const float *mult =
      d->op != KQ8_INTEGER ? kptr(d->mult, arena, weights) : NULL;
  const uint8_t *zpad = kptr(d->zpad, arena, weights);
  uint8_t *y = kptr(d->y, arena, weights);
  const int64_t ysz = d->op == KQ8_QLINEAR ? 1 : 4; /* bytes per element */
  const int64_t cw = 16 * d->nv, px = d->px;
  for (int64_t t = task_begin; t < task_end; t++) {
    kq8_work wk = kq8_work_of(d, t);
    for (int64_t cb = wk.cb0; cb < wk.cb1; cb++) {
      int64_t g = cb / d->nbv, c0 = cb % d->nbv * cw;
      /* The group's last block may be narrower (cols_last channels). */
      const int64_t cols_last = d->cout_g - (d->nbv - 1) * cw;
      const int64_t nvl = (cols_last + 15) / 16;
      int last = c0 + cw > d->cout_g;
      int64_t cpos = g * d->nb * 16 + c0; /* in the per-channel arrays */
      const int8_t *wb = w + (g * d->nb + c0 / 16) * d->kp * 16;
      const uint8_t *xg = x + g * d->cin_g;
      for (int64_t r = wk.r0; r < wk.r1; r++) {
        int64_t n = r / (d->out[0] * d->out[1]);
        int64_t o0 = r / d->out[1] % d->out[0], o1 = r % d->out[1];
        int64_t i0b = o0 * d->s[0] - d->pb[0], i1b = o1 * d->s[1] - d->pb[1];
        const uint8_t *xr[KQ8_MAX_TAPS01];
        for (int64_t t0 = 0; t0 < d->k[0]; t0++)
          for (int64_t t1 = 0; t1 < d->k[1]; t1++) {
            int64_t i0 = i0b + t0 * d->d[0], i1 = i1b + t1 * d->d[1];
            xr[t0 * d->k[1] + t1] =
                i0 < 0 || i0 >= d->in[0] || i1 < 0 || i1 >= d->in[1]
                    ? NULL
                    : xg + n * d->xs_n + i0 * d->xs[0] + i1 * d->xs[1];
          }
        uint8_t *yr = y + (n * d->ys_n + o0 * d->ys[0] + o1 * d->ys[1] +
                           g * d->cout_g + c0) *
                              ysz;
        /* Every call passes constants for npx, nvj and cols (the last
         * channel block's are nvl and cols_last), so each specialises. */
        int64_t o2 = wk.p0;
        for (; o2 + px <= wk.p1; o2 += px) {
          uint8_t *yp = yr + o2 * d->ys[2] * ysz;
          int64_t x2 = o2 * d->s[2] - d->pb[2];
          int guard = o2 < d->olo || o2 + px > d->ohi;
          if (last && guard)
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, px, nvl, cols_last, 1);
          else if (last)
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, px, nvl, cols_last, 0);
          else if (guard)
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, px, d->nv, cw, 1);
          else
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, px, d->nv, cw, 0);
        }
        if (o2 < wk.p1) { /* the row's last block: out[2] mod px pixels */
          uint8_t *yp = yr + o2 * d->ys[2] * ysz;
          int64_t x2 = o2 * d->s[2] - d->pb[2];
          if (last)
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, d->out[2] % px, nvl,
                 cols_last, 1);
          else
            tile(d, xr, x2, zpad, wb, bias + cpos, corr ? corr + cpos : NULL,
                 mult ? mult + cpos : NULL, yp, d->out[2] % px, d->nv, cw, 1);
        }
      }
    }
  }
}

/* Where pixel p of a block reads tap (row xrow, t2): the zero-point pixel
 * outside the input. */
K_INLINE const uint8_t *kq8_pixel(const k_q8_desc *d, const uint8_t *xrow,
                                  const uint8_t *zpad, int64_t x2, int64_t p,
                                  int64_t t2, int guard) {
  int64_t i = x2 + p * d->s[2] + t2 * d->d[2];
  if (!xrow || (guard && (i < 0 || i >= d->in[2]))) return zpad;
  return xrow + i * d->xs[2];
}

#endif /* INGOT_K_QCONV_H */
