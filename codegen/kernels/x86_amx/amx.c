/* amx.c — int8 convolution and matrix product with AMX tdpbusd (amx.h has
 * the descriptors and the data layouts).
 *
 * Written with the numbered-tile intrinsics (_tile_loadd(4, ...)): the
 * template loads its own tile configuration once per call and releases
 * the tiles at the end (~60 ns, KERNEL-NOTES.md).  The shape of every tile
 * is 16 rows x 64 bytes, so one configuration serves the whole call.
 *
 * The block is 2x2 tiles, 32 grid rows x 32 output channels: four
 * accumulator tiles, two A tiles and two B tiles, all eight tile
 * registers.  The accumulators stay in tiles for all of K (one tilezero
 * each, at the start of the block) and go to a 4 KiB stack buffer only
 * once, for the epilogue.  Per K step two A tiles load from the
 * activations (strided rows) and two B tiles from the packed weights (1 KiB
 * contiguous each).  A task walks its rows 32 at a time and, for each
 * block of rows, all its columns in pairs of blocks: the rows' A data
 * (32 x K bytes) stays in L1 while the weights stream from L2.  Calls are coarse (a task range), as
 * each pays the tile configuration once (~60 ns).  A block's epilogue
 * runs interleaved with the next block's tile products (amx_block).
 *
 * Exactness: tdpbusd multiplies u8 by s8 and accumulates in int32 with
 * wrap-around, as the reference does; the epilogue adds the folded bias
 * modulo 2^32 and requantises in float32 exactly as DESIGN.md §5 orders it.
 */
#include <immintrin.h>

#include "generic/matmul.h" /* k_rne */
#include "x86_amx/amx.h"

#define AMX_INLINE static inline __attribute__((always_inline))

/* The tile configuration every call loads: palette 1, tiles 0-7 all 16
 * rows x 64 bytes (the ldtilecfg memory format). */
typedef struct amx_cfg {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} amx_cfg;

AMX_INLINE void amx_configure(void) {
  _Alignas(64) amx_cfg c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) c.colsb[t] = 64, c.rows[t] = 16;
  _tile_loadconfig(&c);
}

/* DESIGN.md §5 for one accumulator: clamp(rne(float(acc)·mul) + zp, lo,
 * hi), NaN giving zp, like k_saturate_rne, but in float32 only: rne(v) is
 * an integer (or v itself when |v| >= 2^23), so comparing it with the
 * integers lo - zp and hi - zp is exact, and only a value inside the range
 * is converted.  The double arithmetic of k_saturate_rne kept the
 * vectorised epilogue at half the width and twice the instructions. */
AMX_INLINE int32_t amx_requant(int32_t acc, float mul, int32_t zp, float lo,
                               float hi) {
  float v = (float)acc * mul;
  float r = k_rne(v);
  r = r < lo ? lo : r;
  r = r > hi ? hi : r;
  return v != v ? zp : (int32_t)r + zp;
}

/* A block whose accumulators wait in |acc| for their epilogue: first grid
 * row q0, first column j0, output |y| of its image. */
typedef struct amx_pending {
  const int32_t *acc;
  uint8_t *y;
  int64_t q0, j0;
} amx_pending;

/* Adds the bias, requantises and stores rows [r0, r1) of block |p| (only
 * its valid rows and columns). */
AMX_INLINE void amx_epilogue(const k_amx_desc *d, const amx_pending *p,
                             const int32_t *bias, const float *mul,
                             int64_t r0, int64_t r1) {
  const int32_t *acc = p->acc;
  uint8_t *y = p->y;
  const int64_t q0 = p->q0, j0 = p->j0;
  int64_t cols = d->n - j0 < 32 ? d->n - j0 : 32;
  const float lo = (float)(d->qmin - d->yzp), hi = (float)(d->qmax - d->yzp);
  for (int64_t r = r0; r < r1; r++) {
    int64_t q = q0 + r;
    if (q >= d->m) break;
    int64_t oh = q / d->gw, ow = q % d->gw;
    if (ow >= d->ow_n) continue;
    int64_t yo = oh * d->y_h + ow * d->y_w + j0 * d->y_c;
    const int32_t *ar = acc + r * 32;
    if (d->ytype == 6) {
      int32_t *yr = (int32_t *)(void *)y + yo;
      for (int64_t j = 0; j < cols; j++)
        yr[j * d->y_c] = (int32_t)((uint32_t)ar[j] + (uint32_t)bias[j0 + j]);
      continue;
    }
    for (int64_t j = 0; j < cols; j++) {
      int32_t v = (int32_t)((uint32_t)ar[j] + (uint32_t)bias[j0 + j]);
      y[yo + j * d->y_c] =
          (uint8_t)amx_requant(v, mul[j0 + j], d->yzp, lo, hi);
    }
  }
}

/* One 32 x 32 block: rows from |ap| (row stride a_rs), weights of column
 * blocks |w0| and |w1|; int32 results to |acc| (32 x 32, row stride 128
 * bytes).  The epilogue of the previous block (|prev|, NULL: none) runs
 * a few rows per K step in between (32 / K steps, rounded up): the vector unit requantises while the
 * tile unit multiplies (each K step is >= 64 cycles of tdpbusd), instead
 * of the two taking turns.  Tiles by number: accumulators 0-3, A rows 4-5, B 6-7.  Named
 * tiles matter: with LLVM's automatic assignment (__tile1024i) both A
 * tiles shared one register, and each reload waited for the products
 * reading the previous one. */
AMX_INLINE void amx_block(const k_amx_desc *d, const uint8_t *ap,
                          const int8_t *w0, const int8_t *w1, int32_t *acc,
                          const amx_pending *prev, const int32_t *bias,
                          const float *mul) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const int64_t rs = d->a_rs;
  /* Rows of the previous block's epilogue per K step: all 32 rows spread
   * over the K steps (a constant once specialised). */
  const int64_t ksteps = d->kh_n * d->kw_n * d->cchunks;
  const int64_t rps = (32 + ksteps - 1) / ksteps;
  int64_t kidx = 0;
  for (int64_t kh = 0; kh < d->kh_n; kh++)
    for (int64_t kw = 0; kw < d->kw_n; kw++)
      for (int64_t cc = 0; cc < d->cchunks; cc++, kidx++) {
        const uint8_t *p = ap + kh * d->tap_h + kw * d->tap_w + cc * 64;
        _tile_loadd(6, w0 + kidx * KAMX_TILE_BYTES, 64);
        _tile_loadd(4, p, rs);
        _tile_dpbusd(0, 4, 6);
        _tile_loadd(7, w1 + kidx * KAMX_TILE_BYTES, 64);
        _tile_dpbusd(1, 4, 7);
        _tile_loadd(5, p + 16 * rs, rs);
        _tile_dpbusd(2, 5, 6);
        _tile_dpbusd(3, 5, 7);
        if (prev && kidx * rps < 32)
          amx_epilogue(d, prev, bias, mul, kidx * rps,
                       kidx * rps + rps < 32 ? kidx * rps + rps : 32);
      }
  if (prev && kidx * rps < 32) amx_epilogue(d, prev, bias, mul, kidx * rps, 32);
  _tile_stored(0, acc, 128);
  _tile_stored(1, acc + 16, 128);
  _tile_stored(2, acc + 16 * 32, 128);
  _tile_stored(3, acc + 16 * 32 + 16, 128);
}

AMX_INLINE void amx_run(const k_amx_desc *d, uint8_t *arena,
                        const uint8_t *weights, int64_t task_begin,
                        int64_t task_end) {
  const uint8_t *a0 = kptr(d->a, arena, weights);
  const int8_t *w = kptr(d->w, arena, weights);
  const int32_t *bias = kptr(d->bias, arena, weights);
  const float *mul = kptr(d->mul, arena, weights);
  uint8_t *y0 = kptr(d->y, arena, weights);
  const int64_t wblock = d->kh_n * d->kw_n * d->cchunks * KAMX_TILE_BYTES;
  const int64_t ysz = d->ytype == 6 ? 4 : 1;
  _Alignas(64) int32_t acc[2][32 * 32]; /* this block's, the previous one's */
  amx_pending pend;
  int have = 0, cur = 0;
  amx_configure();
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t tn = t % d->tiles_n, tm = t / d->tiles_n % d->tiles_m;
    int64_t b = t / d->tiles_n / d->tiles_m;
    const uint8_t *a = a0 + b * d->a_img;
    uint8_t *y = y0 + b * d->y_img * ysz;
    int64_t q_beg = tm * d->mt, j_beg = tn * d->nt;
    int64_t q_end = q_beg + d->mt < d->m ? q_beg + d->mt : d->m;
    int64_t j_end = j_beg + d->nt < d->n ? j_beg + d->nt : d->n;
    for (int64_t q0 = q_beg; q0 < q_end; q0 += 32)
      for (int64_t j0 = j_beg; j0 < j_end; j0 += 32) {
        const int8_t *w0 = w + (j0 / 16) * wblock;
        amx_block(d, a + q0 * d->a_rs, w0, w0 + wblock, acc[cur],
                  have ? &pend : NULL, bias, mul);
        pend = (amx_pending){acc[cur], y, q0, j0};
        have = 1;
        cur ^= 1;
      }
  }
  if (have) amx_epilogue(d, &pend, bias, mul, 0, 32);
  _tile_release();
}

/* Two names for one template, so that a profile or `inspect` row says
 * which op it computes. */
KSIG(k_conv_q8_amx) {
  amx_run(desc_, arena, weights, task_begin, task_end);
}

KSIG(k_mm_q8_amx) { amx_run(desc_, arena, weights, task_begin, task_end); }

/* The padded NHWC copy of a convolution's input (amx.h). */
KSIG(k_pad_u8_amx) {
  const k_amx_pad_desc *d = desc_;
  const uint8_t *x = kptr(d->x, arena, weights);
  uint8_t *out = kptr(d->out, arena, weights);
  const int64_t img = d->hp * d->wp * d->cp;
  for (int64_t t = task_begin; t < task_end; t++) {
    int64_t b = t / d->hp, hp = t % d->hp, ih = hp - d->pad_t;
    uint8_t *row = out + b * img + hp * d->wp * d->cp;
    for (int64_t wp = 0; wp < d->wp; wp++) {
      int64_t iw = wp - d->pad_l;
      uint8_t *px = row + wp * d->cp;
      if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) {
        memset(px, d->zp, (size_t)d->c);
      } else {
        const uint8_t *xp = x + b * d->xs_n + ih * d->xs_h + iw * d->xs_w;
        if (d->xs_c == 1 && !d->xflip)
          memcpy(px, xp, (size_t)d->c);
        else
          for (int64_t c = 0; c < d->c; c++)
            px[c] = (uint8_t)(xp[c * d->xs_c] ^ d->xflip);
      }
      if (d->cp > d->c) memset(px + d->c, 0, (size_t)(d->cp - d->c));
    }
    if (t == d->batch * d->hp - 1 && d->slack > 0)
      memset(out + d->batch * img, 0, (size_t)d->slack);
  }
}
