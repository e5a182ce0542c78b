/* lower_q8.c — int8 products with constant weights to the packed int8
 * templates (kernels/generic/qconv.h; docs/int8.md "Packed weights").
 *
 * At build time, for one QLinearConv/ConvInteger/QLinearMatMul/
 * MatMulInteger whose weights, zero points, scales and bias are constants:
 *  - the weights are packed as w' = w - wflip into 64-byte rows of 16
 *    output channels x 4 consecutive K (tap-major, channels padded to 4
 *    per tap), the operand layout of vpdpbusd and of an AMX B tile;
 *  - the zero-point terms are folded into an int32 bias' per channel, and
 *    corr[c] = wflip - zw[c] kept for the Σa term when any is non-zero;
 *  - M[c] = float(s_x·s_w[c]) / s_y is computed in the reference's order;
 *    a non-finite M sends the product back to the run-time path, where the
 *    reference's NaN handling lives;
 *  - depthwise convolutions get int16 (w - zw) as [tap][C] instead;
 *  - the family is the best the target has (cg_q8_family_of): VNNI, AVX2
 *    or generic, with the register block from its row of q8_families[];
 *  - work is split over channel blocks first (a task reuses its block's
 *    weights over all its pixels), then rows, then pixel chunks of a row
 *    (a matrix product is one long row).
 */
#include "lower_q8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "lower_matmul.h"

#define Q8_TASK_MACS 65536
#define Q8_MAX_TASKS 64
#define Q8_L1_WEIGHTS (40 << 10) /* a channel block's weights: most of L1 */
#define Q8_L2_INPUT (256 << 10)  /* a task's input pixels: 1/8 of L2 */

/* ORDER: cg_q8_family.  regs: accumulator budget (px·nv), max_nv: vectors
 * of 16 channels, max_px: pixels per block. */
static const struct {
  const char *name, *kernel;
  int64_t regs, max_nv, max_px;
} q8_families[CG_Q8_COUNT] = {
    /* 2 pixels x 16 int32 lanes = 8 of the 16 xmm on SSE2. */
    [CG_Q8_GENERIC] = {"generic", "k_qconv", 2, 1, 2},
    /* 3 pixels x 4 ymm (16 channels as int32 pairs) = 12 of 16 ymm. */
    [CG_Q8_AVX2] = {"avx2", "k_qconv_avx2", 3, 1, 3},
    /* 24 of 32 zmm: 6x4, 8x3, 12x2, 16x1. */
    [CG_Q8_VNNI] = {"vnni", "k_qconv_vnni", 24, 4, 16},
};

cg_q8_family cg_q8_family_of(const cg_target *t) {
  /* K2 (AMX): return CG_Q8_AMX here when the target has amx-tile and
   * amx-int8, before VNNI. */
  if (t->isa >= CG_ISA_AVX512 && (t->cpu_features & INGOT_CPU_AVX512VNNI))
    return CG_Q8_VNNI;
  if (t->isa >= CG_ISA_AVX2) return CG_Q8_AVX2;
  return CG_Q8_GENERIC;
}

const char *cg_q8_family_name(cg_q8_family f) {
  return (unsigned)f < CG_Q8_COUNT ? q8_families[f].name : "?";
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* A constant tensor (or 0, absent) with |dt0|/|dt1| dtype and 1 or |len|
 * elements; false when the fast path cannot use it. */
static bool const_ok(const ir_graph *g, ir_tensor_id id, ir_dtype dt0,
                     ir_dtype dt1, int64_t len) {
  if (!id) return true;
  const ir_tensor *t = &g->tensors[id];
  if (t->role != IR_ROLE_CONSTANT || !t->data) return false;
  if (t->dtype != dt0 && t->dtype != dt1) return false;
  int64_t n = (int64_t)ir_shape_numel(&t->shape);
  return n == 1 || n == len;
}

/* Element |i| of a per-tensor or per-channel constant (0 when absent). */
static int64_t ival(const ir_graph *g, ir_tensor_id id, int64_t i) {
  if (!id) return 0;
  const ir_tensor *t = &g->tensors[id];
  return ir_load_i64(t->dtype, t->data,
                     ir_shape_numel(&t->shape) == 1 ? 0 : (size_t)i);
}

static float fval(const ir_graph *g, ir_tensor_id id, int64_t i) {
  const ir_tensor *t = &g->tensors[id];
  return ((const float *)t->data)[ir_shape_numel(&t->shape) == 1 ? 0 : i];
}

static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                           "out of memory packing int8 weights");
}

/* Interior pixels of every row along the last dim: all taps inside. */
static void q8_interior(k_q8_desc *d) {
  int64_t out = d->out[2];
  int64_t lo = min64(out, ceil_div(d->pb[2], d->s[2]));
  int64_t hi =
      floor_div(d->in[2] - 1 - (d->k[2] - 1) * d->d[2] + d->pb[2], d->s[2]) + 1;
  d->olo = lo;
  d->ohi = max64(lo, min64(out, hi));
}

/* Channel blocks, then rows, then pixel chunks (multiples of px). */
static void q8_split(k_q8_desc *d, double macs) {
  int64_t want = (int64_t)(macs / Q8_TASK_MACS);
  want = max64(1, min64(Q8_MAX_TASKS, want));
  d->rows = d->batch * d->out[0] * d->out[1];
  d->csplit = max64(1, min64(d->cblocks, want));
  int64_t rem = max64(1, want / d->csplit);
  d->rsplit = max64(1, min64(d->rows, rem));
  rem = max64(1, rem / d->rsplit);
  int64_t pblocks = max64(1, ceil_div(d->out[2], d->px));
  int64_t per = ceil_div(pblocks, max64(1, min64(pblocks, rem)));
  /* A task's input pixels (one row's chunk) are re-read for each of its
   * channel blocks: keep them within Q8_L2_INPUT. */
  int64_t px_bytes = max64(1, d->cin_g * d->k[2] * d->s[2]);
  per = max64(1, min64(per, Q8_L2_INPUT / (px_bytes * d->px)));
  d->pchunk = per * d->px;
  d->psplit = ceil_div(pblocks, per);
}

/* The widest block that fits, evened out over |len| pixels. */
static int64_t even_block(int64_t widest, int64_t len) {
  if (len <= 0) return widest;
  return ceil_div(len, ceil_div(len, widest));
}

/* Per-channel arrays of |nch| entries (padded), and the multipliers;
 * false in *finite when some M[c] is not finite. */
static ingot_status pack_mult(cg_lower_ctx *ctx, const cg_q8_src *src,
                              k_q8_desc *d, int64_t stride, int64_t per_g,
                              bool *finite) {
  const ir_graph *g = cg_graph(ctx);
  int64_t total = d->group * stride;
  float *m = calloc((size_t)total, sizeof *m);
  if (!m) return oom();
  *finite = true;
  float sx = fval(g, src->x_scale, 0);
  float sy = src->float_out ? 1.0f : fval(g, src->y_scale, 0);
  for (int64_t gi = 0; gi < d->group; gi++)
    for (int64_t c = 0; c < per_g; c++) {
      int64_t ch = gi * per_g + c;
      /* M[c] = s_x·s_w[c]/s_y in float32, in this order (the reference's);
       * QGemm: (alpha·s_x)·s_w[c], then / s_y for a quantised output. */
      float mult;
      if (src->qgemm) {
        mult = src->alpha * sx;
        mult = mult * fval(g, src->w_scale, ch);
        if (!src->float_out) mult = mult / sy;
      } else {
        mult = sx * fval(g, src->w_scale, ch);
        mult = mult / sy;
      }
      if (!isfinite(mult)) *finite = false;
      m[gi * stride + c] = mult;
    }
  ingot_status s = NULL;
  if (*finite) s = cg_add_weights(ctx, m, (size_t)total * sizeof *m, &d->mult);
  free(m);
  return s;
}

/* Direct/GEMM weights: packed blocks, bias', corr, zero-point pixel. */
static ingot_status pack_direct(cg_lower_ctx *ctx, const cg_q8_src *src,
                                k_q8_desc *d) {
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *tw = &g->tensors[src->w];
  const int64_t G = d->group, cog = d->cout_g, cig = d->cin_g;
  const int64_t nb = d->nb, kp = d->kp, taps = d->taps, cpad = d->cpad;
  const int64_t wflip = tw->dtype == IR_U8 ? 128 : 0;
  const int64_t K = taps * cig;
  size_t wsize = (size_t)(G * nb * kp * 16);
  size_t nch = (size_t)(G * nb * 16);
  int8_t *pk = calloc(wsize ? wsize : 1, 1);
  int32_t *bias = calloc(nch, sizeof *bias), *corr = calloc(nch, sizeof *corr);
  uint8_t *zp = malloc((size_t)(cpad ? cpad : 1));
  ingot_status s = NULL;
  if (!pk || !bias || !corr || !zp) {
    s = oom();
    goto done;
  }
  d->has_corr = 0;
  for (int64_t gi = 0; gi < G; gi++)
    for (int64_t co = 0; co < cog; co++) {
      int64_t m = gi * cog + co, sumw = 0;
      int8_t *blk = pk + (gi * nb + co / 16) * kp * 16 + (co % 16) * 4;
      for (int64_t tap = 0; tap < taps; tap++)
        for (int64_t ci = 0; ci < cig; ci++) {
          int64_t wv = ir_load_i64(
              tw->dtype, tw->data,
              (size_t)(m * src->w_so + ci * src->w_si + tap * src->w_st));
          int64_t k = tap * cpad + ci;
          blk[k / 4 * 64 + k % 4] = (int8_t)(wv - wflip);
          sumw += wv;
        }
      int64_t zw = ival(g, src->w_zp, m);
      int64_t pos = gi * nb * 16 + co;
      bias[pos] =
          wrap32(ival(g, src->bias, m) - (int64_t)d->za_u * (sumw - K * zw));
      corr[pos] = (int32_t)(wflip - zw);
      if (corr[pos]) d->has_corr = 1;
    }
  memset(zp, (int)(uint8_t)ival(g, src->x_zp, 0), (size_t)cpad);
  s = cg_add_weights(ctx, pk, wsize, &d->w);
  if (!s) s = cg_add_weights(ctx, bias, nch * sizeof *bias, &d->bias);
  if (!s && d->has_corr)
    s = cg_add_weights(ctx, corr, nch * sizeof *corr, &d->corr);
  if (!s) s = cg_add_weights(ctx, zp, (size_t)cpad, &d->zpad);
done:
  free(pk);
  free(bias);
  free(corr);
  free(zp);
  return s;
}

/* Depthwise weights: int16 (w - zw) as [tap][cpad], bias_q as [cpad]. */
static ingot_status pack_depthwise(cg_lower_ctx *ctx, const cg_q8_src *src,
                                   k_q8_desc *d) {
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *tw = &g->tensors[src->w];
  const int64_t C = d->group, cpad = d->cpad, taps = d->taps;
  int16_t *pk = calloc((size_t)(taps * cpad), sizeof *pk);
  int32_t *bias = calloc((size_t)cpad, sizeof *bias);
  uint8_t *zp = malloc((size_t)(cpad ? cpad : 1));
  ingot_status s = NULL;
  if (!pk || !bias || !zp) {
    s = oom();
    goto done;
  }
  for (int64_t c = 0; c < C; c++) {
    int64_t zw = ival(g, src->w_zp, c);
    for (int64_t tap = 0; tap < taps; tap++)
      pk[tap * cpad + c] = (int16_t)(
          ir_load_i64(tw->dtype, tw->data,
                      (size_t)(c * src->w_so + tap * src->w_st)) -
          zw);
    bias[c] = (int32_t)ival(g, src->bias, c);
  }
  memset(zp, (int)(uint8_t)ival(g, src->x_zp, 0), (size_t)cpad);
  s = cg_add_weights(ctx, pk, (size_t)(taps * cpad) * sizeof *pk, &d->w);
  if (!s)
    s = cg_add_weights(ctx, bias, (size_t)cpad * sizeof *bias, &d->bias);
  if (!s) s = cg_add_weights(ctx, zp, (size_t)cpad, &d->zpad);
done:
  free(pk);
  free(bias);
  free(zp);
  return s;
}

ingot_status cg_lower_q8(cg_lower_ctx *ctx, const ir_node *n, k_q8_desc *d,
                         int64_t xs_c, int64_t ys_c, const cg_q8_src *src,
                         const char *what, bool *handled) {
  const ir_graph *g = cg_graph(ctx);
  *handled = false;
  const ir_tensor *tx = &g->tensors[src->x], *tw = &g->tensors[src->w];
  const ir_tensor *ty = &g->tensors[src->y];
  const int64_t cout = d->group * d->cout_g;
  /* What the templates read: channels at stride 1, every parameter a
   * constant of the expected form. */
  if (xs_c != 1 || ys_c != 1) return NULL;
  if (tw->role != IR_ROLE_CONSTANT || !tw->data) return NULL;
  if (!const_ok(g, src->x_zp, tx->dtype, tx->dtype, 1) ||
      !const_ok(g, src->w_zp, tw->dtype, tw->dtype, cout) ||
      !const_ok(g, src->bias, IR_I32, IR_I32, cout))
    return NULL;
  bool scaled = src->qlinear || src->float_out;
  if (scaled) {
    if (!src->x_scale || !src->w_scale ||
        !const_ok(g, src->x_scale, IR_F32, IR_F32, 1) ||
        !const_ok(g, src->w_scale, IR_F32, IR_F32, cout))
      return NULL;
  }
  if (src->qlinear) {
    if (!src->y_scale || (!src->y_zp && !src->qgemm)) return NULL;
    if (!const_ok(g, src->y_scale, IR_F32, IR_F32, 1) ||
        !const_ok(g, src->y_zp, ty->dtype, ty->dtype, 1) ||
        (ty->dtype != IR_U8 && ty->dtype != IR_I8))
      return NULL;
  } else if (ty->dtype != (src->float_out ? IR_F32 : IR_I32)) {
    return NULL;
  }
  if (d->k[0] * d->k[1] > KQ8_MAX_TAPS01) return NULL;

  d->op = src->qlinear     ? KQ8_QLINEAR
          : src->float_out ? KQ8_FLOAT
                           : KQ8_INTEGER;
  d->ytype = (int32_t)ty->dtype;
  d->xflip = tx->dtype == IR_I8 ? 0x80 : 0;
  int64_t za = ival(g, src->x_zp, 0);
  d->za_u = (int32_t)(d->xflip ? za + 128 : za);
  if (src->qlinear) {
    d->zy = (int32_t)ival(g, src->y_zp, 0);
    d->qmin = ty->dtype == IR_U8 ? 0 : -128;
    d->qmax = ty->dtype == IR_U8 ? 255 : 127;
  }
  d->taps = d->k[0] * d->k[1] * d->k[2];
  bool dw = d->cin_g == 1 && d->cout_g == 1;
  d->depthwise = dw;
  cg_q8_family fam = cg_q8_family_of(cg_target_of(ctx));
  if (dw) {
    int64_t budget, max_nv;
    cg_f32_regs(ctx, &budget, &max_nv);
    d->cpad = ceil_div(d->group, 64) * 64;
    d->kp = d->taps;
    d->nb = ceil_div(d->group, 16);
    d->nv = max64(1, min64(max_nv, d->nb));
    d->nv = ceil_div(d->nb, ceil_div(d->nb, d->nv)); /* even blocks */
    d->px = max64(1, min64(KQ8_PX_MAX, budget / d->nv));
    d->nbv = ceil_div(d->group, 16 * d->nv);
    d->cblocks = d->nbv;
  } else {
    d->cpad = ceil_div(d->cin_g, 4) * 4;
    d->kp = d->taps * d->cpad;
    d->nb = ceil_div(d->cout_g, 16);
    /* The weights of a channel block (kp x 16·nv bytes) stay in L1 while
     * the block's pixels stream past: as many vectors as fit. */
    d->nv = max64(1, min64(min64(q8_families[fam].max_nv, d->nb),
                           Q8_L1_WEIGHTS / (d->kp * 16)));
    d->nv = ceil_div(d->nb, ceil_div(d->nb, d->nv)); /* even blocks */
    d->px = max64(1, min64(q8_families[fam].max_px,
                           q8_families[fam].regs / d->nv));
    d->nbv = ceil_div(d->cout_g, 16 * d->nv);
    d->cblocks = d->group * d->nbv;
  }
  q8_interior(d);
  d->px = even_block(d->px, d->out[2]);

  if (scaled) {
    bool finite;
    int64_t stride = dw ? d->cpad : d->nb * 16;
    /* Depthwise: one group per channel, arrays indexed by channel. */
    k_q8_desc tmp = *d;
    if (dw) tmp.group = 1;
    INGOT_RETURN_IF_ERROR(pack_mult(ctx, src, &tmp, stride,
                                    dw ? d->group : d->cout_g, &finite));
    if (!finite) return NULL; /* the run-time path handles NaN like the
                                 reference */
    d->mult = tmp.mult;
  }
  INGOT_RETURN_IF_ERROR(dw ? pack_depthwise(ctx, src, d)
                           : pack_direct(ctx, src, d));

  double macs = (double)d->batch * (double)(d->out[0] * d->out[1]) *
                (double)d->out[2] * (double)cout * (double)(d->cin_g * d->taps);
  q8_split(d, macs);
  *handled = true;

  const char *kernel = dw ? "k_qconv_dw" : q8_families[fam].kernel;
  char summary[160];
  if (d->k[0] * d->k[1] * d->k[2] == 1 && d->in[0] * d->in[1] == 1 &&
      d->batch == 1 && d->out[0] * d->out[1] == 1)
    snprintf(summary, sizeof summary, "%s %lldx%lldx%lld %s%s", what,
             (long long)d->out[2], (long long)d->cin_g,
             (long long)d->cout_g, q8_families[fam].name,
             d->has_corr ? " zw" : "");
  else
    snprintf(summary, sizeof summary, "%s%s %lldx%lldx%lld/%lld %lld->%lld%s %s%s",
             what, dw ? " dw" : "", (long long)d->k[0], (long long)d->k[1],
             (long long)d->k[2], (long long)d->s[2],
             (long long)(d->cin_g * d->group), (long long)cout,
             d->group > 1 && !dw ? " grouped" : "",
             dw ? "int16" : q8_families[fam].name, d->has_corr ? " zw" : "");
  size_t ybytes = ir_shape_numel(&ty->shape) * (src->qlinear ? 1 : 4);
  (void)n;
  cg_step st = {.kernel = kernel,
                .desc = d,
                .desc_size = sizeof *d,
                .tasks = d->rsplit * d->psplit * d->csplit,
                .ops = (uint64_t)(2 * macs),
                .bytes = (uint64_t)(ir_shape_numel(&tx->shape) +
                                    ir_shape_numel(&tw->shape) + ybytes),
                .precision = tx->dtype,
                .summary = summary};
  return cg_emit(ctx, &st);
}
