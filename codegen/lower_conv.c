/* lower_conv.c — Conv, ConvTranspose, ConvInteger and QLinearConv to the
 * convolution templates (kernels/generic/conv.c, the AVX-512 variants) and,
 * for pointwise convolutions, to the product templates.
 *
 * The geometry is recomputed exactly as the reference's conv_shape does
 * (SAME_* splits, VALID, explicit pads; ConvTranspose's output_shape and
 * output_padding with the odd unit of padding at the end for SAME_UPPER),
 * taking output sizes from the inferred output shape.  Then one of four
 * templates, by shape:
 *  - float32 1x1, stride 1, no padding, one group: a product [pixels, Cin]
 *    x [Cin, Cout] (lower_matmul.h), weights packed as B;
 *  - float32 depthwise (one input and one output channel per group) in
 *    NHWC with constant weights: k_conv_dw_f32, weights as [taps][C];
 *  - any other float32 Conv/ConvTranspose: k_conv_f32, constant weights
 *    packed per block of 16*nv output channels as [g][block][Cin/g][taps]
 *    [16*nv] (conv.h), input channels taken in chunks whose weights fit in
 *    half of L1;
 *  - ConvInteger/QLinearConv with constant weights and parameters, NHWC:
 *    the packed int8 templates (lower_q8.c, kernels/generic/qconv.h);
 *  - other ConvInteger/QLinearConv: k_conv_q8 on the model's weight
 *    layout, zero points and scales read at run time (they may be graph
 *    inputs).
 * A Conv the precision pass made bf16 goes to lower_bf16.c with this
 * geometry.  Register blocks (pixels x channel vectors) are sized for the target's
 * register file (cg_f32_regs) and evened out over a row; in NHWC, border
 * pixels join guarded blocks.  Weights that are graph inputs (conformance
 * tests feed them) are read in place through strides, unpacked.  On
 * AVX-512 targets the float templates have _avx512 variants, used when the
 * weights are packed and the channels of Y are contiguous (NHWC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "generic/conv.h"
#include "lower_amx.h"
#include "lower_bf16.h"
#include "lower_matmul.h"
#include "lower_q8.h"

#define CONV_TASK_MACS 32768
#define CONV_MAX_TASKS 64
#define CONV_PX_MAX 24 /* ORDER: kernels/generic/conv.c CONV_PX_MAX */
#define CONV_CHUNK_BYTES (24 << 10) /* weights of one chunk: half of L1 */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Element strides of batch, channel and the spatial dims (right-aligned in
 * three) of a channel-first model tensor of shape |s| stored as |v|. */
static void nc_strides(const ir_shape *s, const cg_view *v, int64_t *sn,
                       int64_t *sc, int64_t *sp) {
  int nsp = s->rank - 2;
  sp[0] = sp[1] = sp[2] = 0;
  if (v->layout == INGOT_LAYOUT_NHWC) { /* N, H, W, C */
    *sc = 1;
    /* A fold-concat slice: pixels |pitch| apart (plan_fuse_concat.c). */
    sp[2] = v->pitch ? v->pitch : s->dims[1];
    sp[1] = s->dims[3] * sp[2];
    *sn = s->dims[2] * sp[1];
    return;
  }
  int64_t run = 1;
  for (int i = nsp - 1; i >= 0; i--) {
    sp[3 - nsp + i] = run;
    run *= s->dims[2 + i];
  }
  *sc = run;
  *sn = run * s->dims[1];
}

/* The geometry of the node: channels, spatial sizes, begin pads. */
static ingot_status conv_geometry(const ir_node *n, const ir_tensor *tx,
                                  const ir_tensor *tw, const ir_tensor *ty,
                                  k_conv_desc *d) {
  const ir_p_conv *p = n->params;
  if (!p) return ir_node_error(n, INGOT_INTERNAL, "attributes were not parsed");
  const ir_shape *xs = &tx->shape, *ws = &tw->shape;
  int r = xs->rank, nsp = r - 2;
  if (r < 3 || r > 5)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "rank %d convolutions are not supported (1 to 3 "
                         "spatial dims)",
                         r);
  d->transposed = n->op == IR_OP_CONV_TRANSPOSE;
  d->batch = xs->dims[0];
  d->group = p->group;
  d->cin_g = xs->dims[1] / p->group;
  d->cout_g = d->transposed ? ws->dims[1] : ws->dims[0] / p->group;
  for (int j = 0; j < 3; j++) {
    d->in[j] = d->out[j] = d->k[j] = d->s[j] = d->d[j] = 1;
    d->pb[j] = 0;
  }
  bool same =
      p->auto_pad == IR_PAD_SAME_UPPER || p->auto_pad == IR_PAD_SAME_LOWER;
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    int64_t in = xs->dims[2 + i], k = ws->dims[2 + i], s = p->strides[i];
    int64_t dil = p->dilations[i], out = ty->shape.dims[2 + i];
    int64_t ek = (k - 1) * dil + 1, pb = p->pads[i];
    if (!d->transposed) {
      if (same) {
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        pb = p->auto_pad == IR_PAD_SAME_UPPER ? total / 2 : total - total / 2;
      } else if (p->auto_pad == IR_PAD_VALID) {
        pb = 0;
      }
    } else {
      int64_t full = s * (in - 1) + p->output_padding[i] + ek;
      if (p->has_output_shape || same) {
        int64_t total = full - out;
        pb = p->auto_pad == IR_PAD_SAME_UPPER ? floor_div(total, 2)
                                              : total - floor_div(total, 2);
      } else if (p->auto_pad == IR_PAD_VALID) {
        pb = 0;
      }
    }
    d->in[j] = in;
    d->out[j] = out;
    d->k[j] = k;
    d->s[j] = s;
    d->d[j] = dil;
    d->pb[j] = pb;
  }
  return NULL;
}

/* Channel blocks, then rows, into tasks: a task that owns a channel
 * block for many rows reuses that block's weights across them. */
static void conv_split(k_conv_desc *d, double macs) {
  int64_t want = (int64_t)(macs / CONV_TASK_MACS);
  want = max64(1, min64(CONV_MAX_TASKS, want));
  d->rows = d->batch * d->out[0] * d->out[1];
  d->csplit = max64(1, min64(d->cblocks, want));
  d->rsplit = max64(1, min64(d->rows, ceil_div(want, d->csplit)));
}

/* The widest register block that fits, evened out over |len| pixels so
 * the last block is not a sliver (7 pixels: 4 + 3, not 6 + 1). */
static int64_t even_block(int64_t widest, int64_t len) {
  if (len <= 0) return widest;
  int64_t blocks = ceil_div(len, widest);
  return ceil_div(len, blocks);
}

/* Interior pixels of every row along the last spatial dim: all taps in. */
static void conv_interior(k_conv_desc *d) {
  int64_t out = d->out[2];
  int64_t lo = min64(out, ceil_div(d->pb[2], d->s[2]));
  int64_t hi =
      floor_div(d->in[2] - 1 - (d->k[2] - 1) * d->d[2] + d->pb[2], d->s[2]) + 1;
  d->olo = lo;
  d->ohi = max64(lo, min64(out, hi));
}

/*===------------------------------------------------------------------===*/
/* Float32                                                                 */
/*===------------------------------------------------------------------===*/

/* Pointwise convolution as a product. */
static ingot_status lower_pointwise(cg_lower_ctx *ctx, const ir_node *n,
                                    const k_conv_desc *cd, const cg_view *vx,
                                    const cg_view *vy) {
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *tw = &g->tensors[n->in[1]];
  int64_t C = cd->cin_g, M = cd->cout_g;
  int64_t S = cd->in[0] * cd->in[1] * cd->in[2];
  k_mm_desc d;
  memset(&d, 0, sizeof d);
  d.kind = KMM_F32;
  d.atype = d.btype = d.ytype = IR_F32;
  d.alpha = d.beta = 1.0f;
  d.k = C;
  d.n = M;
  d.a = vx->buf;
  d.y = vy->buf;
  if (vx->layout == INGOT_LAYOUT_NHWC) {
    d.m = cd->batch * S;
    d.a_rs = C;
    d.a_cs = 1;
    d.y_rs = vy->pitch ? vy->pitch : M; /* a fold-concat slice */
    d.y_cs = 1;
  } else {
    d.m = S;
    d.a_rs = 1;
    d.a_cs = S;
    d.y_rs = 1;
    d.y_cs = S;
    d.nbdim = 1;
    d.bdims[0] = cd->batch;
    d.a_bs[0] = C * S;
    d.y_bs[0] = M * S;
  }
  cg_mm_choose_tile(ctx, &d);
  if (tw->role == IR_ROLE_CONSTANT) {
    int64_t per;
    INGOT_RETURN_IF_ERROR(cg_mm_pack_b(ctx, &d, tw->data, 1, 0, 1, C, &per));
  } else {
    cg_view vw;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &vw));
    d.b = vw.buf;
    d.b_rs = 1;
    d.b_cs = C;
  }
  if (n->n_in > 2 && n->in[2]) /* the bias, a row of M */
    INGOT_RETURN_IF_ERROR(cg_mm_set_c(ctx, &d, n->in[2]));
  char what[64];
  snprintf(what, sizeof what, "Conv 1x1 %lld->%lld", (long long)C,
           (long long)M);
  return cg_mm_emit(ctx, &d, what);
}

/* Constant weights W(g, co, ci, taps) = src[g*sg + co*so + ci*si + tap]
 * (tap = flattened kernel index) packed as [g][block][ci][taps][cw]: each
 * block of cw = 16*nv output channels (zero-padded) has its weights in one
 * run, and a chunk of input channels is contiguous in it.  The bias (if
 * constant) becomes [g][blocks * cw]. */
static ingot_status pack_direct(cg_lower_ctx *ctx, k_conv_desc *d,
                                const float *src, int64_t sg, int64_t so,
                                int64_t si, const float *bias) {
  int64_t cw = 16 * d->nv, nb = ceil_div(d->cout_g, cw), G = d->group;
  int64_t K = d->k[0] * d->k[1] * d->k[2], ci_n = d->cin_g;
  size_t total = (size_t)(G * nb * ci_n * K * cw);
  float *buf = calloc(total ? total : 1, sizeof *buf);
  float *bb = bias ? calloc((size_t)(G * nb * cw), sizeof *bb) : NULL;
  ingot_status s = NULL;
  if (!buf || (bias && !bb)) {
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                          "out of memory packing convolution weights");
    goto done;
  }
  for (int64_t g = 0; g < G; g++)
    for (int64_t co = 0; co < d->cout_g; co++)
      for (int64_t ci = 0; ci < ci_n; ci++)
        for (int64_t t = 0; t < K; t++)
          buf[(((g * nb + co / cw) * ci_n + ci) * K + t) * cw + co % cw] =
              src[g * sg + co * so + ci * si + t];
  s = cg_add_weights(ctx, buf, total * sizeof *buf, &d->w);
  if (!s && bias) {
    for (int64_t g = 0; g < G; g++)
      for (int64_t co = 0; co < d->cout_g; co++)
        bb[g * nb * cw + co] = bias[g * d->cout_g + co];
    s = cg_add_weights(ctx, bb, (size_t)(G * nb * cw) * sizeof *bb, &d->bias);
    d->has_bias = 1;
    d->bias_padded = 1;
  }
  d->w_packed = 1;
  d->ws_o = 1;
  d->ws[2] = cw;
  d->ws[1] = d->k[2] * cw;
  d->ws[0] = d->k[1] * d->ws[1];
  d->ws_i = K * cw;
  d->ws_blk = ci_n * K * cw;
  d->ws_g = nb * d->ws_blk;
  d->bs_g = nb * cw;
done:
  free(buf);
  free(bb);
  return s;
}

/* Depthwise weights W[c][taps] as [taps][Cp], bias as [Cp]. */
static ingot_status pack_depthwise(cg_lower_ctx *ctx, k_conv_desc *d,
                                   const float *src, const float *bias) {
  int64_t C = d->group, Cp = ceil_div(C, 16) * 16;
  int64_t K = d->k[0] * d->k[1] * d->k[2];
  float *buf = calloc((size_t)(K * Cp), sizeof *buf);
  float *bb = calloc((size_t)Cp, sizeof *bb);
  ingot_status s = NULL;
  if (!buf || !bb) {
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED,
                          "out of memory packing convolution weights");
  } else {
    for (int64_t c = 0; c < C; c++)
      for (int64_t t = 0; t < K; t++) buf[t * Cp + c] = src[c * K + t];
    s = cg_add_weights(ctx, buf, (size_t)(K * Cp) * sizeof *buf, &d->w);
    if (!s && bias) {
      memcpy(bb, bias, (size_t)C * sizeof *bb);
      s = cg_add_weights(ctx, bb, (size_t)Cp * sizeof *bb, &d->bias);
      d->has_bias = 1;
      d->bias_padded = 1;
    }
  }
  d->depthwise = 1;
  d->w_packed = 1;
  d->ws_g = d->ws_o = d->ws_i = 0;
  d->ws[2] = Cp;
  d->ws[1] = d->k[2] * Cp;
  d->ws[0] = d->k[1] * d->ws[1];
  free(buf);
  free(bb);
  return s;
}

static const char *conv_name(const ir_node *n) {
  return ir_op_get(n->op)->name;
}

static ingot_status lower_float(cg_lower_ctx *ctx, const ir_node *n,
                                k_conv_desc *d, const cg_view *vx,
                                const cg_view *vy) {
  const ir_graph *g = cg_graph(ctx);
  const ir_tensor *tx = &g->tensors[n->in[0]], *tw = &g->tensors[n->in[1]];
  const ir_tensor *tb = n->n_in > 2 && n->in[2] ? &g->tensors[n->in[2]] : NULL;
  if (tx->dtype != IR_F32)
    return ir_node_error(n, INGOT_UNIMPLEMENTED,
                         "%s of %s is not supported by the engine (float32 "
                         "only)",
                         conv_name(n), ir_dtype_name(tx->dtype));
  bool nhwc = vx->layout == INGOT_LAYOUT_NHWC;
  bool wconst = tw->role == IR_ROLE_CONSTANT;
  bool bconst = !tb || tb->role == IR_ROLE_CONSTANT;
  const float *bias = tb && bconst ? tb->data : NULL;
  int64_t K = d->k[0] * d->k[1] * d->k[2];

  bool pointwise = !d->transposed && d->group == 1 && K == 1;
  for (int j = 0; j < 3; j++)
    pointwise =
        pointwise && d->s[j] == 1 && d->pb[j] == 0 && d->out[j] == d->in[j];
  if (pointwise) return lower_pointwise(ctx, n, d, vx, vy);

  int64_t budget, max_nv;
  cg_f32_regs(ctx, &budget, &max_nv);
  bool dw = !d->transposed && d->cin_g == 1 && d->cout_g == 1 && nhwc &&
            wconst && bconst;
  int64_t width = dw ? d->group : d->cout_g; /* channels a block spans */
  d->nv = max64(1, min64(max_nv, ceil_div(width, 16)));
  d->px = max64(1, min64(CONV_PX_MAX, budget / d->nv));
  /* Guarded blocks read zeros for taps outside the input: NHWC only (the
   * zeros stand for a contiguous run of channels). */
  d->guard =
      !d->transposed && nhwc && (dw ? 16 * d->nv : d->cin_g) <= KCONV_ZEROS;
  if (d->transposed) {
    d->olo = d->ohi = 0;
  } else {
    conv_interior(d);
    if (d->guard)
      d->px = even_block(d->px, d->out[2]);
    else if (d->ohi > d->olo)
      d->px = even_block(d->px, d->ohi - d->olo);
  }

  if (dw) {
    INGOT_RETURN_IF_ERROR(pack_depthwise(ctx, d, tw->data, bias));
    d->cblocks = ceil_div(d->group, 16 * d->nv);
  } else {
    d->cblocks = d->group * ceil_div(d->cout_g, 16 * d->nv);
    int64_t cin_g = d->cin_g, cout_g = d->cout_g;
    /* Strides of W(g, co, ci, tap) in the model's layout. */
    int64_t sg = d->transposed ? cin_g * cout_g * K : cout_g * cin_g * K;
    int64_t so = d->transposed ? K : cin_g * K;
    int64_t si = d->transposed ? cout_g * K : K;
    if (wconst) {
      INGOT_RETURN_IF_ERROR(pack_direct(ctx, d, tw->data, sg, so, si, bias));
    } else {
      cg_view vw;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[1], &vw));
      d->w = vw.buf;
      d->ws_g = sg;
      d->ws_o = so;
      d->ws_i = si;
      d->ws[2] = 1;
      d->ws[1] = d->k[2];
      d->ws[0] = d->k[1] * d->k[2];
    }
    if (tb && !d->bias_padded) {
      cg_view vb;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[2], &vb));
      d->bias = vb.buf;
      d->has_bias = 1;
      d->bs_g = d->cout_g;
    }
  }
  /* Input channels per pass over a task's rows: the chunk's weights for
   * one channel block (K x chunk x 16nv floats) stay in L1. */
  d->ci_chunk =
      dw ? 1
         : max64(1, min64(d->cin_g, CONV_CHUNK_BYTES / (K * 16 * d->nv * 4)));
  double macs = (double)d->batch * (double)(d->out[0] * d->out[1] * d->out[2]) *
                (double)(d->group * d->cout_g) * (double)(d->cin_g * K);
  conv_split(d, macs);

  bool wide = cg_target_of(ctx)->isa >= CG_ISA_AVX512 && d->w_packed &&
              !d->transposed && d->ys_c == 1 &&
              (!d->has_bias || d->bias_padded);
  const char *kernel = dw ? (wide ? "k_conv_dw_f32_avx512" : "k_conv_dw_f32")
                          : (wide ? "k_conv_f32_avx512" : "k_conv_f32");
  char summary[128];
  snprintf(summary, sizeof summary, "%s%s %lldx%lldx%lld/%lld %lld->%lld%s %s",
           conv_name(n), dw ? " dw" : "", (long long)d->k[0],
           (long long)d->k[1], (long long)d->k[2], (long long)d->s[2],
           (long long)(d->cin_g * d->group), (long long)(d->cout_g * d->group),
           d->group > 1 && !dw ? " grouped" : "", nhwc ? "NHWC" : "NC..");
  d->epi = *cg_epilogue(ctx); /* plan_fuse.c */
  cg_step st = {
      .kernel = kernel,
      .desc = d,
      .desc_size = sizeof *d,
      .tasks = d->rsplit * d->csplit,
      .ops = (uint64_t)(2 * macs),
      .bytes = 4 * (uint64_t)(ir_shape_numel(&tx->shape) +
                              ir_shape_numel(&tw->shape) +
                              ir_shape_numel(&g->tensors[n->out[0]].shape)),
      .precision = IR_F32,
      .summary = summary};
  return cg_emit(ctx, &st);
}

/*===------------------------------------------------------------------===*/
/* ConvInteger, QLinearConv                                                */
/*===------------------------------------------------------------------===*/

/* Zero point or scale input |idx|: per tensor, or per output channel. */
static ingot_status conv_qparam(cg_lower_ctx *ctx, const ir_node *n, int idx,
                                bool is_scale, k_qparam *q) {
  memset(q, 0, sizeof *q);
  if (idx >= n->n_in || !n->in[idx]) return NULL;
  const ir_tensor *t = &cg_graph(ctx)->tensors[n->in[idx]];
  if (is_scale ? t->dtype != IR_F32 : (t->dtype != IR_U8 && t->dtype != IR_I8))
    return ir_node_error(
        n, INGOT_UNIMPLEMENTED, "input %d of type %s is not supported (%s)",
        idx, ir_dtype_name(t->dtype),
        is_scale ? "float32 scales" : "uint8/int8 zero points");
  cg_view v;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[idx], &v));
  q->buf = v.buf;
  q->dtype = (int32_t)t->dtype;
  q->present = 1;
  q->rs = ir_shape_numel(&t->shape) > 1 ? 1 : 0;
  return NULL;
}

/* Input |i| of |n| or 0 when absent. */
static ir_tensor_id opt_in(const ir_node *n, int i) {
  return i < n->n_in ? n->in[i] : 0;
}

/* Constant weights and parameters: the packed int8 templates
 * (lower_q8.c); *handled = false leaves the node to k_conv_q8. */
static ingot_status lower_quant_packed(cg_lower_ctx *ctx, const ir_node *n,
                                       const k_conv_desc *cd, bool *handled) {
  bool ql = n->op == IR_OP_QLINEAR_CONV;
  k_q8_desc q;
  memset(&q, 0, sizeof q);
  q.x = cd->x;
  q.y = cd->y;
  q.batch = cd->batch;
  q.group = cd->group;
  q.cin_g = cd->cin_g;
  q.cout_g = cd->cout_g;
  for (int j = 0; j < 3; j++) {
    q.in[j] = cd->in[j];
    q.out[j] = cd->out[j];
    q.k[j] = cd->k[j];
    q.s[j] = cd->s[j];
    q.d[j] = cd->d[j];
    q.pb[j] = cd->pb[j];
    q.xs[j] = cd->xs[j];
    q.ys[j] = cd->ys[j];
  }
  q.xs_n = cd->xs_n;
  q.ys_n = cd->ys_n;
  int64_t taps = cd->k[0] * cd->k[1] * cd->k[2];
  cg_q8_src src = {.x = n->in[0],
                   .w = n->in[ql ? 3 : 1],
                   .y = n->out[0],
                   .x_zp = opt_in(n, 2),
                   .w_zp = opt_in(n, ql ? 5 : 3),
                   .x_scale = ql ? opt_in(n, 1) : 0,
                   .w_scale = ql ? opt_in(n, 4) : 0,
                   .y_scale = ql ? opt_in(n, 6) : 0,
                   .y_zp = ql ? opt_in(n, 7) : 0,
                   .bias = ql ? opt_in(n, 8) : 0,
                   .w_so = cd->cin_g * taps,
                   .w_si = taps,
                   .w_st = 1,
                   .qlinear = ql};
  return cg_lower_q8(ctx, n, &q, cd->xs_c, cd->ys_c, &src, conv_name(n),
                     handled);
}

static ingot_status lower_quant(cg_lower_ctx *ctx, const ir_node *n,
                                k_conv_desc *d) {
  const ir_graph *g = cg_graph(ctx);
  bool ql = n->op == IR_OP_QLINEAR_CONV;
  int wi = ql ? 3 : 1;
  const ir_tensor *tx = &g->tensors[n->in[0]], *tw = &g->tensors[n->in[wi]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  if ((tx->dtype != IR_U8 && tx->dtype != IR_I8) ||
      (tw->dtype != IR_U8 && tw->dtype != IR_I8))
    return ir_node_error(
        n, INGOT_UNIMPLEMENTED, "%s of %s and %s is not supported (uint8/int8)",
        conv_name(n), ir_dtype_name(tx->dtype), ir_dtype_name(tw->dtype));
  bool handled = false;
  INGOT_RETURN_IF_ERROR(lower_quant_packed(ctx, n, d, &handled));
  if (handled) return NULL;
  d->kind = ql ? KCONV_QLINEAR : KCONV_INTEGER;
  cg_view vw;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[wi], &vw));
  int64_t K = d->k[0] * d->k[1] * d->k[2];
  d->w = vw.buf;
  d->ws_g = d->cout_g * d->cin_g * K;
  d->ws_o = d->cin_g * K;
  d->ws_i = K;
  d->ws[2] = 1;
  d->ws[1] = d->k[2];
  d->ws[0] = d->k[1] * d->k[2];
  INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, 2, false, &d->x_zp));
  INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, ql ? 5 : 3, false, &d->w_zp));
  if (ql) {
    INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, 1, true, &d->x_scale));
    INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, 4, true, &d->w_scale));
    INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, 6, true, &d->y_scale));
    INGOT_RETURN_IF_ERROR(conv_qparam(ctx, n, 7, false, &d->y_zp));
    if (!d->x_scale.present || !d->w_scale.present || !d->y_scale.present ||
        !d->y_zp.present)
      return ir_node_error(n, INGOT_INVALID_ARGUMENT,
                           "scales and y_zero_point are required");
    d->qmin = ty->dtype == IR_U8 ? 0 : -128;
    d->qmax = ty->dtype == IR_U8 ? 255 : 127;
    if (n->n_in > 8 && n->in[8]) {
      const ir_tensor *tb = &g->tensors[n->in[8]];
      if (tb->dtype != IR_I32)
        return ir_node_error(n, INGOT_UNIMPLEMENTED, "bias must be int32");
      cg_view vb;
      INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[8], &vb));
      d->bias = vb.buf;
      d->has_bias = 1;
    }
  }
  d->nv = d->px = 1;
  d->ci_chunk = d->cin_g;
  d->cblocks = d->group * ceil_div(d->cout_g, 16);
  double macs = (double)d->batch * (double)(d->out[0] * d->out[1] * d->out[2]) *
                (double)(d->group * d->cout_g) * (double)(d->cin_g * K);
  conv_split(d, macs);
  char summary[128];
  snprintf(summary, sizeof summary, "%s %lldx%lldx%lld/%lld %lld->%lld",
           conv_name(n), (long long)d->k[0], (long long)d->k[1],
           (long long)d->k[2], (long long)d->s[2],
           (long long)(d->cin_g * d->group), (long long)(d->cout_g * d->group));
  cg_step st = {.kernel = "k_conv_q8",
                .desc = d,
                .desc_size = sizeof *d,
                .tasks = d->rsplit * d->csplit,
                .ops = (uint64_t)(2 * macs),
                .bytes = (uint64_t)(ir_shape_numel(&tx->shape) +
                                    ir_shape_numel(&tw->shape)) +
                         (uint64_t)ir_shape_numel(&ty->shape) * (ql ? 1 : 4),
                .precision = IR_I32,
                .summary = summary};
  return cg_emit(ctx, &st);
}

ingot_status cg_lower_conv(cg_lower_ctx *ctx, ir_node_id nid) {
  const ir_graph *g = cg_graph(ctx);
  const ir_node *n = &g->nodes[nid];
  int wi = n->op == IR_OP_QLINEAR_CONV ? 3 : 1;
  const ir_tensor *tx = &g->tensors[n->in[0]], *tw = &g->tensors[n->in[wi]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  if (ir_shape_numel(&ty->shape) == 0) return NULL;
  k_conv_desc d;
  memset(&d, 0, sizeof d);
  INGOT_RETURN_IF_ERROR(conv_geometry(n, tx, tw, ty, &d));
  cg_view vx, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &vx));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  d.x = vx.buf;
  d.y = vy.buf;
  d.xtype = (int32_t)tx->dtype;
  d.wtype = (int32_t)tw->dtype;
  d.ytype = (int32_t)ty->dtype;
  nc_strides(&tx->shape, &vx, &d.xs_n, &d.xs_c, d.xs);
  nc_strides(&ty->shape, &vy, &d.ys_n, &d.ys_c, d.ys);
  if (n->compute == IR_BF16) return cg_lower_bf16_conv(ctx, n, &d);
  if (n->op == IR_OP_CONV || n->op == IR_OP_CONV_TRANSPOSE)
    return lower_float(ctx, n, &d, &vx, &vy);
  bool amx = false; /* AMX hook: lower_amx.c takes what it can */
  INGOT_RETURN_IF_ERROR(cg_amx_lower_conv(ctx, n, &d, &amx));
  if (amx) return NULL;
  return lower_quant(ctx, n, &d);
}
