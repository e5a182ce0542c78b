/* lower_amx.c — int8 convolutions and matrix products to the AMX templates
 * (kernels/x86_amx/amx.c; amx.h has the layouts).
 *
 * AMX takes a node when the target has amx-tile and amx-int8 and:
 *  - the activations are uint8, or int8 (copied as a XOR 0x80 = a + 128,
 *    the unsigned operand tdpbusd takes, with the zero point likewise);
 *  - the weights (Conv W, MatMul B) are constants, as are every zero point,
 *    scale and bias, so the zero-point terms fold into one int32 bias per
 *    output channel at build time;
 *  - the weights are int8 with zero point 0, or uint8 with zero point 128
 *    (stored as w - 128): then the Σa term of docs/int8.md's kernel
 *    arithmetic is zero.  Other weight zero points take the next family;
 *  - Conv: 1-D or 2-D, one group, equal strides in 2-D (for one uniform
 *    row stride, amx.h); MatMul: B two-dimensional, A's zero point per tensor,
 *    B's per tensor or per column.
 * and, unless the build says --amx always, amx_pays finds the product
 * large enough for the tiles.  Anything else returns done = false and the
 * caller's lowering runs (VNNI where the target has it).
 *
 * Steps: a convolution whose uint8 input is NHWC with channels a multiple of 64,
 * no padding, stride 1 and a 1x1 kernel, or a product with K a multiple of
 * 64, reads its input in place when the rows up to the next multiple of 32
 * exist; otherwise a k_pad_u8_amx step first writes the padded NHWC copy
 * (zero point around, channels rounded up to 64, slack after the last image
 * so that the dropped rows of the last block read inside it) into scratch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_format.h"
#include "lower_amx.h"
#include "x86_amx/amx.h"

#define AMX_MAX_TASKS 256
#define AMX_MIN_TASKS 8 /* below: split the columns as well */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

bool cg_amx_target(const cg_lower_ctx *ctx) {
  uint64_t need = INGOT_CPU_AMX_TILE | INGOT_CPU_AMX_INT8;
  const cg_target *t = cg_target_of(ctx);
  return (t->cpu_features & need) == need && t->amx != CG_AMX_NEVER;
}

/* Does AMX pay for a product with |taps| kernel taps at |stride|, K
 * channels per tap, N outputs and M rows (output pixels)?  The tiles are
 * 16 rows by 64 bytes of K, the input of a padded or strided conv is
 * copied first, and a task configures its tiles once, so narrow or short
 * products lose to VNNI, which pads K to 4 and N to 16 only.  Measured at
 * 1 thread (docs/int8.md, "The AMX family"): AMX wins 3x3 stride-1 convs
 * from 16 channels in and out (16->16 at 16x16: 3.4 vs 6.3 us; 32->32 at
 * 8x8: 1.35 vs 2.3 us) and the 64-wide products of the benchmarks; VNNI
 * wins the stems (3->8 stride 2: 3.2 vs 10.7 us), strided convs
 * (16->32 stride 2: 1.3 vs 2.5 us) and the narrow pointwise convs of the
 * sample MobileNet (8->8: 0.76 vs 6.6 us; 8->32: 1.1 vs 2.6 us). */
static bool amx_pays(const cg_lower_ctx *ctx, int64_t taps, int64_t stride,
                     int64_t k, int64_t n, int64_t m) {
  if (cg_target_of(ctx)->amx == CG_AMX_ALWAYS) return true;
  if (taps > 1) return stride == 1 && k >= 16 && n >= 16 && m >= 16;
  return k >= 64 && n >= 64 && m >= 16;
}

/* A constant input |idx| of |n| (absent: NULL), with at most |max_n|
 * elements; *ok false when it is present but not a constant of a dtype in
 * |t0|, |t1| or of another size. */
static const ir_tensor *const_input(const cg_lower_ctx *ctx, const ir_node *n,
                                    int idx, ir_dtype t0, ir_dtype t1,
                                    size_t max_n, bool *ok) {
  if (idx >= n->n_in || !n->in[idx]) return NULL;
  const ir_tensor *t = &cg_graph(ctx)->tensors[n->in[idx]];
  size_t cnt = ir_shape_numel(&t->shape);
  if (t->role != IR_ROLE_CONSTANT || !t->data ||
      (t->dtype != t0 && t->dtype != t1) || cnt == 0 || cnt > max_n)
    *ok = false;
  return t;
}

/* Element |i| of a per-tensor or per-channel constant (absent: |dflt|). */
static double qval(const ir_tensor *t, int64_t i, double dflt) {
  if (!t) return dflt;
  size_t cnt = ir_shape_numel(&t->shape);
  return ir_load_f64(t->dtype, t->data, cnt == 1 ? 0 : (size_t)i);
}

/* What both ops share once their operands are read. */
typedef struct amx_job {
  const ir_node *n;
  int64_t n_out;   /* output channels / columns */
  int64_t taps;    /* kh_n * kw_n */
  int64_t cin;     /* input channels (product: K) */
  int64_t cp;      /* cin rounded up to 64 */
  int8_t *wk;      /* [n_out][taps * cp], w' in K order */
  bool requant;
  const ir_tensor *x_zp, *w_zp, *x_scale, *w_scale, *y_scale, *y_zp, *bias;
  ir_dtype wtype, ytype;
  int32_t xflip; /* 0x80 for int8 activations */
} amx_job;

/* Weight zero points AMX takes: int8 with 0, uint8 with 128 everywhere. */
static bool weight_zp_fits(const amx_job *j) {
  int64_t want = j->wtype == IR_U8 ? 128 : 0;
  for (int64_t c = 0; c < j->n_out; c++)
    if ((int64_t)qval(j->w_zp, c, 0) != want) return false;
  return true;
}

/* The activation zero point in the unsigned domain the tiles see:
 * za_u = za + 128 for int8 activations (a_u = a XOR 0x80 = a + 128, so
 * a - za = a_u - za_u and every formula holds with a_u, za_u). */
static int32_t za_unsigned(const amx_job *j) {
  int32_t za = (int32_t)qval(j->x_zp, 0, 0);
  return j->xflip ? za + 128 : za;
}

/* Packs j->wk into B tiles, folds the bias, computes the multipliers, and
 * fills those parts of |d|. */
static ingot_status pack(cg_lower_ctx *ctx, const amx_job *j, k_amx_desc *d) {
  int64_t K = j->taps * j->cp, kc = K / 64;
  int64_t n32 = round_up(j->n_out, 32);
  size_t wbytes = (size_t)(n32 / 16 * kc) * KAMX_TILE_BYTES;
  int8_t *w = calloc(wbytes, 1);
  int32_t *bias = calloc((size_t)n32, sizeof *bias);
  float *mul = calloc((size_t)n32, sizeof *mul);
  ingot_status s = NULL;
  if (!w || !bias || !mul) {
    s = ir_node_error(j->n, INGOT_RESOURCE_EXHAUSTED,
                      "out of memory packing weights for AMX");
    goto done;
  }
  int32_t za = za_unsigned(j);
  for (int64_t c = 0; c < j->n_out; c++) {
    const int8_t *row = j->wk + c * K;
    uint32_t sum = 0;
    for (int64_t k = 0; k < K; k++) sum += (uint32_t)(int32_t)row[k];
    for (int64_t k = 0; k < K; k++) {
      int64_t r = k % 64 / 4, i = k % 4;
      w[((c / 16) * kc + k / 64) * KAMX_TILE_BYTES + r * 64 + (c % 16) * 4 +
        i] = row[k];
    }
    uint32_t b = j->bias ? (uint32_t)(int32_t)qval(j->bias, c, 0) : 0;
    bias[c] = (int32_t)(b - (uint32_t)za * sum);
    if (j->requant) {
      /* DESIGN.md §5: M[c] = s_x·s_w[c]/s_y in float32, in this order. */
      float m = (float)qval(j->x_scale, 0, 1) * (float)qval(j->w_scale, c, 1);
      mul[c] = m / (float)qval(j->y_scale, 0, 1);
    }
  }
  s = cg_add_weights(ctx, w, wbytes, &d->w);
  if (!s) s = cg_add_weights(ctx, bias, (size_t)n32 * sizeof *bias, &d->bias);
  if (!s) s = cg_add_weights(ctx, mul, (size_t)n32 * sizeof *mul, &d->mul);
  d->n = j->n_out;
  d->cchunks = j->cp / 64;
  if (j->requant) {
    d->yzp = (int32_t)qval(j->y_zp, 0, 0);
    d->qmin = j->ytype == IR_U8 ? 0 : -128;
    d->qmax = j->ytype == IR_U8 ? 255 : 127;
  }
  d->ytype = (int32_t)j->ytype;
done:
  free(w);
  free(bias);
  free(mul);
  return s;
}

/* Tasks: one per block of 32 grid rows (at most AMX_MAX_TASKS, then
 * several blocks each), split by columns too when there are few.  The pool
 * hands each thread one contiguous range of tasks per call (kchunk), and
 * a call configures the tiles once and pipelines its blocks across task
 * boundaries, so small tasks cost nothing and even out the threads' work;
 * within a task the rows' A block is reused across all its columns. */
static void split(k_amx_desc *d) {
  int64_t mb = ceil_div(d->m, 32), nb = ceil_div(d->n, 32);
  int64_t per = ceil_div(mb, min64(mb, AMX_MAX_TASKS));
  d->mt = per * 32;
  d->tiles_m = ceil_div(d->m, d->mt);
  int64_t rows = d->tiles_m * d->batch;
  d->tiles_n = rows >= AMX_MIN_TASKS ? 1
                                     : min64(nb, ceil_div(AMX_MIN_TASKS, rows));
  d->nt = ceil_div(nb, d->tiles_n) * 32;
  d->tiles_n = ceil_div(d->n, d->nt);
}

static ingot_status emit(cg_lower_ctx *ctx, const amx_job *j, k_amx_desc *d,
                         const char *kernel, const char *summary,
                         double macs, uint64_t bytes) {
  split(d);
  cg_step st = {.kernel = kernel,
                .desc = d,
                .desc_size = sizeof *d,
                .tasks = d->batch * d->tiles_m * d->tiles_n,
                .ops = (uint64_t)(2 * macs),
                .bytes = bytes,
                .precision = j->ytype, /* as the other int8 families */
                .summary = summary};
  return cg_emit(ctx, &st);
}

/* The byte just past the last one a block can read (amx.h), per image
 * offset 0: rows up to the next multiple of 32, the last tap, 64 bytes. */
static int64_t read_extent(const k_amx_desc *d) {
  return (round_up(d->m, 32) - 1) * d->a_rs + (d->kh_n - 1) * d->tap_h +
         (d->kw_n - 1) * d->tap_w + d->cchunks * 64;
}

/* Reads the operands common to both ops; *fits false: not for AMX. */
static void read_quant(const cg_lower_ctx *ctx, const ir_node *n, bool ql,
                       int64_t n_out, amx_job *j, bool *fits) {
  size_t per = (size_t)n_out;
  j->requant = ql;
  if (ql) {
    j->x_scale = const_input(ctx, n, 1, IR_F32, IR_F32, 1, fits);
    j->x_zp = const_input(ctx, n, 2, IR_U8, IR_I8, 1, fits);
    j->w_scale = const_input(ctx, n, 4, IR_F32, IR_F32, per, fits);
    j->w_zp = const_input(ctx, n, 5, IR_U8, IR_I8, per, fits);
    j->y_scale = const_input(ctx, n, 6, IR_F32, IR_F32, 1, fits);
    j->y_zp = const_input(ctx, n, 7, IR_U8, IR_I8, 1, fits);
    if (!j->x_scale || !j->w_scale || !j->y_scale) *fits = false;
  } else {
    j->x_zp = const_input(ctx, n, 2, IR_U8, IR_I8, 1, fits);
    j->w_zp = const_input(ctx, n, 3, IR_U8, IR_I8, per, fits);
  }
}

/*===------------------------------------------------------------------===*/
/* Convolutions                                                            */
/*===------------------------------------------------------------------===*/

ingot_status cg_amx_lower_conv(cg_lower_ctx *ctx, const ir_node *n,
                               const k_conv_desc *geo, bool *done) {
  *done = false;
  if (!cg_amx_target(ctx)) return NULL;
  const ir_graph *g = cg_graph(ctx);
  bool ql = n->op == IR_OP_QLINEAR_CONV;
  int wi = ql ? 3 : 1;
  const ir_tensor *tx = &g->tensors[n->in[0]], *tw = &g->tensors[n->in[wi]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  if ((tx->dtype != IR_U8 && tx->dtype != IR_I8) ||
      (tw->dtype != IR_I8 && tw->dtype != IR_U8) ||
      tw->role != IR_ROLE_CONSTANT || !tw->data || geo->transposed ||
      geo->group != 1 || geo->in[0] != 1 || geo->k[0] != 1 ||
      geo->out[0] != 1 || tw->shape.rank < 3)
    return NULL;
  /* One stride for the grid rows: equal strides, or a 1-D conv (one
   * output row, whose vertical stride never applies). */
  bool one_row = geo->in[1] == 1 && geo->out[1] == 1 && geo->k[1] == 1;
  if (geo->s[1] != geo->s[2] && !one_row) return NULL;
  if (ql ? (ty->dtype != IR_U8 && ty->dtype != IR_I8) : ty->dtype != IR_I32)
    return NULL;
  amx_job j;
  memset(&j, 0, sizeof j);
  bool fits = true;
  j.n = n;
  j.n_out = geo->cout_g;
  j.wtype = tw->dtype;
  j.ytype = ty->dtype;
  j.xflip = tx->dtype == IR_I8 ? 0x80 : 0;
  read_quant(ctx, n, ql, j.n_out, &j, &fits);
  if (ql) j.bias = const_input(ctx, n, 8, IR_I32, IR_I32, (size_t)j.n_out, &fits);
  if (!fits || !weight_zp_fits(&j)) return NULL;

  int64_t C = geo->cin_g, KH = geo->k[1], KW = geo->k[2];
  int64_t H = geo->in[1], W = geo->in[2], OH = geo->out[1], OW = geo->out[2];
  int64_t S = geo->s[2], pt = geo->pb[1], pl = geo->pb[2];
  if (!amx_pays(ctx, KH * KW, one_row ? S : max64(S, geo->s[1]), C,
                j.n_out, OH * OW))
    return NULL;
  j.taps = KH * KW;
  j.cin = C;
  j.cp = round_up(C, 64);
  int64_t K = j.taps * j.cp;
  j.wk = calloc((size_t)(j.n_out * K), 1);
  if (!j.wk)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory packing weights for AMX");
  int off = tw->dtype == IR_U8 ? 128 : 0;
  for (int64_t co = 0; co < j.n_out; co++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t t = 0; t < j.taps; t++)
        j.wk[co * K + t * j.cp + c] = (int8_t)(
            ir_load_i64(tw->dtype, tw->data,
                        (size_t)((co * C + c) * j.taps + t)) - off);

  k_amx_desc d;
  memset(&d, 0, sizeof d);
  ingot_status s = pack(ctx, &j, &d);
  free(j.wk);
  if (s) return s;
  d.batch = geo->batch;
  d.kh_n = KH;
  d.kw_n = KW;
  d.y_img = geo->ys_n;
  d.y_h = geo->ys[1];
  d.y_w = geo->ys[2];
  d.y_c = geo->ys_c;
  d.ow_n = OW;
  cg_view vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  d.y = vy.buf;

  /* In place: NHWC, 64-multiple channels, pointwise, no padding. */
  bool direct = !j.xflip && geo->xs_c == 1 && C % 64 == 0 && KH == 1 && KW == 1 &&
                S == 1 && pt == 0 && pl == 0 && OH == H && OW == W &&
                geo->xs[2] == C && geo->xs[1] == W * C && geo->xs_n == H * W * C;
  int64_t Hp = H, Wp = W;
  if (direct) {
    d.a_img = geo->xs_n;
    d.a_rs = C;
    d.gw = W;
    d.m = OH * W;
    d.tap_h = d.tap_w = 0;
    direct = (d.batch - 1) * d.a_img + read_extent(&d) <= d.batch * d.a_img;
  }
  if (!direct) {
    /* Padded extent: every tap of every output, plus the end pads. */
    Hp = max64(H + pt, (OH - 1) * S + (KH - 1) * geo->d[1] + 1);
    Wp = max64(W + pl, (OW - 1) * S + (KW - 1) * geo->d[2] + 1);
    d.a_img = Hp * Wp * j.cp;
    d.a_rs = S * j.cp;
    d.gw = Wp;
    d.m = (OH - 1) * Wp + OW;
    d.tap_h = geo->d[1] * Wp * j.cp;
    d.tap_w = geo->d[2] * j.cp;
    int64_t slack = max64(0, read_extent(&d) - d.a_img);
    k_amx_pad_desc p;
    memset(&p, 0, sizeof p);
    cg_view vx;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &vx));
    p.x = vx.buf;
    p.batch = d.batch;
    p.c = C;
    p.h = H;
    p.w = W;
    p.xs_n = geo->xs_n;
    p.xs_c = geo->xs_c;
    p.xs_h = geo->xs[1];
    p.xs_w = geo->xs[2];
    p.pad_t = pt;
    p.pad_l = pl;
    p.hp = Hp;
    p.wp = Wp;
    p.cp = j.cp;
    p.slack = slack;
    p.zp = za_unsigned(&j);
    p.xflip = j.xflip;
    INGOT_RETURN_IF_ERROR(
        cg_scratch(ctx, (size_t)(d.batch * d.a_img + slack), &p.out));
    d.a = p.out;
    cg_step st = {.kernel = "k_pad_u8_amx",
                  .desc = &p,
                  .desc_size = sizeof p,
                  .tasks = d.batch * Hp,
                  .ops = 0,
                  .bytes = (uint64_t)(ir_shape_numel(&tx->shape) +
                                      (size_t)(d.batch * d.a_img)),
                  .precision = IR_U8,
                  .summary = "pad input for AMX"};
    INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));
  } else {
    cg_view vx;
    INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &vx));
    d.a = vx.buf;
  }
  double macs = (double)d.batch * (double)(OH * OW) * (double)j.n_out *
                (double)(C * KH * KW);
  char summary[128];
  snprintf(summary, sizeof summary, "%s %lldx%lld/%lld %lld->%lld amx",
           ql ? "QLinearConv" : "ConvInteger", (long long)KH, (long long)KW,
           (long long)S, (long long)C, (long long)j.n_out);
  uint64_t bytes = (uint64_t)(ir_shape_numel(&tx->shape) +
                              ir_shape_numel(&tw->shape)) +
                   (uint64_t)ir_shape_numel(&ty->shape) * (ql ? 1 : 4);
  s = emit(ctx, &j, &d, "k_conv_q8_amx", summary, macs, bytes);
  if (!s) *done = true;
  return s;
}

/*===------------------------------------------------------------------===*/
/* Matrix products                                                         */
/*===------------------------------------------------------------------===*/

ingot_status cg_amx_lower_matmul(cg_lower_ctx *ctx, const ir_node *n,
                                 bool *done) {
  *done = false;
  if (!cg_amx_target(ctx)) return NULL;
  const ir_graph *g = cg_graph(ctx);
  bool ql = n->op == IR_OP_QLINEAR_MATMUL;
  int ib = ql ? 3 : 1;
  const ir_tensor *ta = &g->tensors[n->in[0]], *tb = &g->tensors[n->in[ib]];
  const ir_tensor *ty = &g->tensors[n->out[0]];
  if ((ta->dtype != IR_U8 && ta->dtype != IR_I8) ||
      (tb->dtype != IR_I8 && tb->dtype != IR_U8) ||
      tb->role != IR_ROLE_CONSTANT || !tb->data || tb->shape.rank != 2 ||
      ta->shape.rank < 2)
    return NULL;
  if (ql ? (ty->dtype != IR_U8 && ty->dtype != IR_I8) : ty->dtype != IR_I32)
    return NULL;
  cg_view va, vy;
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->in[0], &va));
  INGOT_RETURN_IF_ERROR(cg_view_of(ctx, n->out[0], &vy));
  if (va.layout != INGOT_LAYOUT_AS_MODEL || vy.layout != INGOT_LAYOUT_AS_MODEL)
    return NULL;
  int64_t K = tb->shape.dims[0], N = tb->shape.dims[1];
  int64_t M = (int64_t)(ir_shape_numel(&ta->shape) / (size_t)K);
  if (K <= 0 || N <= 0 || M <= 0) return NULL;

  amx_job j;
  memset(&j, 0, sizeof j);
  bool fits = true;
  j.n = n;
  j.n_out = N;
  j.wtype = tb->dtype;
  j.ytype = ty->dtype;
  j.xflip = ta->dtype == IR_I8 ? 0x80 : 0;
  read_quant(ctx, n, ql, N, &j, &fits);
  /* Quantisation parameters of A per tensor; of B per tensor or per
   * column (rank 1). */
  const ir_tensor *bq[2] = {j.w_zp, j.w_scale};
  for (int q = 0; q < 2; q++)
    if (bq[q] && ir_shape_numel(&bq[q]->shape) > 1 && bq[q]->shape.rank != 1)
      fits = false;
  if (!fits || !weight_zp_fits(&j) || !amx_pays(ctx, 1, 1, K, N, M))
    return NULL;

  j.taps = 1;
  j.cin = K;
  j.cp = round_up(K, 64);
  j.wk = calloc((size_t)(N * j.cp), 1);
  if (!j.wk)
    return ir_node_error(n, INGOT_RESOURCE_EXHAUSTED,
                         "out of memory packing weights for AMX");
  int off = tb->dtype == IR_U8 ? 128 : 0;
  for (int64_t k = 0; k < K; k++)
    for (int64_t c = 0; c < N; c++)
      j.wk[c * j.cp + k] =
          (int8_t)(ir_load_i64(tb->dtype, tb->data, (size_t)(k * N + c)) - off);
  k_amx_desc d;
  memset(&d, 0, sizeof d);
  ingot_status s = pack(ctx, &j, &d);
  free(j.wk);
  if (s) return s;
  d.batch = 1;
  d.kh_n = d.kw_n = 1;
  d.m = M;
  d.gw = d.ow_n = M;
  d.y_w = N;
  d.y_c = 1;
  d.y = vy.buf;
  d.a_rs = K;
  d.a_img = M * K;
  bool direct = !j.xflip && K % 64 == 0 && read_extent(&d) <= d.a_img;
  if (direct) {
    d.a = va.buf;
  } else {
    /* A as a 1 x M "image" of K channels, rounded up to 64. */
    d.a_rs = j.cp;
    d.a_img = M * j.cp;
    int64_t slack = max64(0, read_extent(&d) - d.a_img);
    k_amx_pad_desc p;
    memset(&p, 0, sizeof p);
    p.x = va.buf;
    p.batch = 1;
    p.c = K;
    p.h = 1;
    p.w = M;
    p.xs_n = M * K;
    p.xs_c = 1;
    p.xs_h = 0;
    p.xs_w = K;
    p.hp = 1;
    p.wp = M;
    p.cp = j.cp;
    p.slack = slack;
    p.xflip = j.xflip;
    INGOT_RETURN_IF_ERROR(
        cg_scratch(ctx, (size_t)(d.a_img + slack), &p.out));
    d.a = p.out;
    cg_step st = {.kernel = "k_pad_u8_amx",
                  .desc = &p,
                  .desc_size = sizeof p,
                  .tasks = 1,
                  .ops = 0,
                  .bytes = (uint64_t)(M * K + d.a_img),
                  .precision = IR_U8,
                  .summary = "pad A for AMX"};
    INGOT_RETURN_IF_ERROR(cg_emit(ctx, &st));
  }
  double macs = (double)M * (double)N * (double)K;
  char summary[128];
  snprintf(summary, sizeof summary, "%s %lldx%lldx%lld amx",
           ql ? "QLinearMatMul" : "MatMulInteger", (long long)M, (long long)K,
           (long long)N);
  uint64_t bytes = (uint64_t)(M * K + K * N) + (uint64_t)(M * N) * (ql ? 1 : 4);
  s = emit(ctx, &j, &d, "k_mm_q8_amx", summary, macs, bytes);
  if (!s) *done = true;
  return s;
}
