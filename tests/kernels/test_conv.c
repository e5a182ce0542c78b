/* test_conv.c — Conv, ConvTranspose, ConvInteger and QLinearConv through
 * the planner, lower_conv.c and the natively compiled templates (generic,
 * AVX2 and AVX-512 targets, as the CPU allows), against the reference
 * interpreter.
 *
 * Tolerance: float32 max|got - ref| <= 1e-5 * max(1, max|ref|) over the
 * output (sums are reordered and use FMA); integer outputs exactly.
 * Cases: the shapes of the sample CNNs (NHWC), 1x1 (product path),
 * depthwise, grouped, dilated, strided, asymmetric and automatic padding,
 * 1-D and 3-D (channel-first), weights and bias given as graph inputs,
 * ConvTranspose with output_padding / output_shape / SAME, and randomised
 * shapes for every path.
 */
#include "kt_graph.h"

#define TOL 1e-5

typedef struct conv_case {
  ir_op op;
  int nsp;
  int64_t n, c, m, group;
  int64_t in[3], k[3], s[3], d[3], pads[6];
  const char *auto_pad;
  int64_t out_pad[3], out_shape[3];
  bool has_out_pad, has_out_shape;
  bool bias, w_input, b_input;
  ir_dtype xt, wt, yt;
  bool per_channel;
  ir_value x, w, b;
  ir_value xzp, wzp, xs, ws, ys, yzp;
} conv_case;

static ir_graph *build_conv(void *vctx) {
  conv_case *cc = vctx;
  ir_graph *g = kt_graph_new();
  if (!g) return NULL;
  bool ql = cc->op == IR_OP_QLINEAR_CONV, ci = cc->op == IR_OP_CONV_INTEGER;
  ir_tensor_id in[9] = {0};
  int nin;
  in[0] = kt_input(g, "x", &cc->x);
  ir_tensor_id w =
      cc->w_input ? kt_input(g, "w", &cc->w) : kt_const(g, "w", &cc->w);
  if (ql) {
    in[1] = kt_const(g, "x_scale", &cc->xs);
    in[2] = kt_const(g, "x_zp", &cc->xzp);
    in[3] = w;
    in[4] = kt_const(g, "w_scale", &cc->ws);
    in[5] = kt_const(g, "w_zp", &cc->wzp);
    in[6] = kt_const(g, "y_scale", &cc->ys);
    in[7] = kt_const(g, "y_zp", &cc->yzp);
    nin = 8;
    if (cc->bias) in[nin++] = kt_const(g, "b", &cc->b);
  } else if (ci) {
    in[1] = w;
    in[2] = kt_const(g, "x_zp", &cc->xzp);
    in[3] = kt_const(g, "w_zp", &cc->wzp);
    nin = 4;
  } else {
    in[1] = w;
    nin = 2;
    if (cc->bias)
      in[nin++] =
          cc->b_input ? kt_input(g, "b", &cc->b) : kt_const(g, "b", &cc->b);
  }
  ir_tensor_id out = kt_tensor(g, "y", true);
  ir_node_id nid = kt_node(g, cc->op, in, nin, &out, 1);
  int nsp = cc->nsp;
  kt_attr_window(g, nid, nsp, cc->k, cc->s, cc->d, cc->auto_pad, cc->pads);
  kt_attr_int(g, nid, "group", cc->group);
  if (cc->has_out_pad)
    kt_attr_ints(g, nid, "output_padding", cc->out_pad + 3 - nsp, nsp);
  if (cc->has_out_shape)
    kt_attr_ints(g, nid, "output_shape", cc->out_shape + 3 - nsp, nsp);
  CHECK_OK(kt_finish(g));
  return g;
}

static ir_value scalar_of(ir_dtype dt, double v) {
  int64_t one = 1;
  ir_value x = kt_value(dt, 0, &one);
  if (x.data) ir_store_f64(dt, x.data, 0, v);
  return x;
}

/* Runs a copy of |spec| with its values filled in (random); strides,
 * dilations and kernel dims left at 0 are 1. */
static void run_conv(const conv_case *spec, const char *what) {
  conv_case copy = *spec, *cc = &copy;
  int nsp = cc->nsp;
  bool tr = cc->op == IR_OP_CONV_TRANSPOSE;
  bool quant = cc->op == IR_OP_QLINEAR_CONV || cc->op == IR_OP_CONV_INTEGER;
  if (!quant) cc->xt = cc->wt = IR_F32;
  int64_t xd[5] = {cc->n, cc->c}, wd[5];
  wd[0] = tr ? cc->c : cc->m;
  wd[1] = tr ? cc->m / cc->group : cc->c / cc->group;
  for (int i = 0; i < nsp; i++) {
    xd[2 + i] = cc->in[3 - nsp + i];
    wd[2 + i] = cc->k[3 - nsp + i];
  }
  for (int j = 0; j < 3; j++) {
    if (!cc->s[j]) cc->s[j] = 1;
    if (!cc->d[j]) cc->d[j] = 1;
    if (!cc->k[j]) cc->k[j] = 1;
  }
  cc->x = kt_value(cc->xt, nsp + 2, xd);
  cc->w = kt_value(cc->wt, nsp + 2, wd);
  int64_t m = cc->m;
  if (cc->op == IR_OP_QLINEAR_CONV) {
    cc->b = kt_value(IR_I32, 1, &m);
  } else {
    cc->b = kt_value(IR_F32, 1, &m);
  }
  if (quant) {
    int64_t nz = cc->per_channel ? m : 1;
    cc->xzp = scalar_of(cc->xt, cc->xt == IR_U8 ? 131 : -7);
    cc->wzp = kt_value(cc->wt, cc->per_channel ? 1 : 0, &nz);
    cc->xs = scalar_of(IR_F32, 0.0213);
    cc->ws = kt_value(IR_F32, cc->per_channel ? 1 : 0, &nz);
    for (int64_t i = 0; i < nz; i++)
      ((float *)cc->ws.data)[i] = 0.001f + 0.01f * (float)kt_irand(1, 9);
    cc->ys = scalar_of(IR_F32, cc->op == IR_OP_QLINEAR_CONV ? 0.37 : 1);
    cc->yzp = scalar_of(cc->yt ? cc->yt : IR_U8, (cc->yt == IR_I8) ? 3 : 121);
  }
  ir_value in[3];
  int nin = 0;
  in[nin++] = cc->x;
  if (cc->w_input) in[nin++] = cc->w;
  if (cc->bias && cc->b_input) in[nin++] = cc->b;
  kt_check_case(build_conv, cc, in, TOL, what);
  ir_value_free(&cc->x);
  ir_value_free(&cc->w);
  ir_value_free(&cc->b);
  if (quant) {
    ir_value_free(&cc->xzp);
    ir_value_free(&cc->wzp);
    ir_value_free(&cc->xs);
    ir_value_free(&cc->ws);
    ir_value_free(&cc->ys);
    ir_value_free(&cc->yzp);
  }
}

/* A 2-D NHWC float Conv. */
static void conv2d(int64_t c, int64_t m, int64_t h, int64_t w, int64_t k,
                   int64_t s, int64_t p, int64_t group, bool bias,
                   const char *what) {
  conv_case cc = {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = c, .m = m,
                  .group = group, .in = {1, h, w}, .k = {1, k, k},
                  .s = {1, s, s}, .d = {1, 1, 1},
                  .pads = {0, p, p, 0, p, p}, .bias = bias};
  run_conv(&cc, what);
}

/* A row of a case table. */
typedef struct named_case {
  const char *what;
  conv_case cc;
} named_case;

static void fixed_cases(void) {
  /* The sample CNN's convolutions. */
  conv2d(3, 16, 32, 32, 3, 1, 1, 1, true, "cnn stem 3->16 3x3");
  conv2d(16, 16, 16, 16, 3, 1, 1, 1, false, "cnn 16->16 3x3");
  conv2d(16, 32, 16, 16, 3, 2, 1, 1, false, "cnn 16->32 3x3/2");
  conv2d(32, 32, 8, 8, 3, 1, 1, 1, false, "cnn 32->32 3x3");
  conv2d(16, 32, 16, 16, 1, 2, 0, 1, false, "cnn 1x1/2 16->32");
  /* MobileNet's. */
  conv2d(3, 8, 32, 32, 3, 2, 1, 1, true, "mobilenet stem 3x3/2");
  conv2d(8, 8, 16, 16, 3, 1, 1, 8, true, "depthwise 3x3");
  conv2d(32, 32, 16, 16, 3, 2, 1, 32, true, "depthwise 3x3/2");
  conv2d(64, 64, 8, 8, 3, 1, 1, 64, false, "depthwise 64 no bias");
  conv2d(8, 32, 16, 16, 1, 1, 0, 1, true, "pointwise 8->32");
  conv2d(32, 8, 16, 16, 1, 1, 0, 1, true, "pointwise 32->8");
  conv2d(20, 70, 9, 7, 1, 1, 0, 1, true, "pointwise 20->70 odd");
  /* Odd channel counts, groups, wide outputs. */
  conv2d(5, 37, 11, 13, 3, 1, 1, 1, true, "odd 5->37");
  conv2d(8, 100, 6, 30, 3, 1, 1, 1, true, "100 channels");
  conv2d(12, 18, 9, 9, 3, 1, 1, 3, true, "grouped 3");
  conv2d(4, 8, 9, 9, 3, 1, 0, 4, true, "depthwise multiplier 2");
  conv2d(40, 40, 7, 9, 5, 2, 2, 40, true, "depthwise 5x5/2 40ch");
  conv2d(3, 4, 5, 5, 5, 1, 0, 1, true, "kernel = input");
  /* More input channels than one pass over the rows takes (ci_chunk). */
  conv2d(70, 40, 9, 11, 3, 1, 1, 1, true, "chunked 70->40");
  conv2d(130, 20, 6, 7, 5, 2, 2, 1, true, "chunked 5x5/2 130->20");
  conv2d(96, 96, 5, 5, 3, 1, 1, 2, false, "chunked grouped 96");
  conv2d(2, 3, 3, 3, 3, 1, 2, 1, true, "pad larger than half kernel");
  /* Batches, dilations, asymmetric and automatic padding, weights and bias
   * as graph inputs; 1-D and 3-D stay channel-first. */
  static const named_case cases[] = {
      {"batch 2 dilated asymmetric grouped",
       {.op = IR_OP_CONV, .nsp = 2, .n = 2, .c = 6, .m = 10, .group = 2,
        .in = {1, 10, 12}, .k = {1, 3, 2}, .s = {1, 2, 3}, .d = {1, 2, 1},
        .pads = {0, 1, 0, 0, 2, 1}, .bias = true}},
      {"SAME_LOWER /2",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 4, .m = 5, .group = 1,
        .in = {1, 7, 7}, .k = {1, 3, 3}, .s = {1, 2, 2},
        .auto_pad = "SAME_LOWER", .bias = true}},
      {"SAME_UPPER /2",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 4, .m = 5, .group = 1,
        .in = {1, 7, 7}, .k = {1, 3, 3}, .s = {1, 2, 2},
        .auto_pad = "SAME_UPPER", .bias = true}},
      {"VALID /2",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 4, .m = 5, .group = 1,
        .in = {1, 7, 7}, .k = {1, 3, 3}, .s = {1, 2, 2},
        .auto_pad = "VALID", .bias = true}},
      {"weights and bias as inputs",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 3, .m = 4, .group = 1,
        .in = {1, 5, 6}, .k = {1, 3, 3}, .pads = {0, 1, 1, 0, 1, 1},
        .bias = true, .w_input = true, .b_input = true}},
      {"1x1 weights as inputs",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 3, .m = 4, .group = 1,
        .in = {1, 5, 6}, .k = {1, 1, 1}, .bias = true, .w_input = true,
        .b_input = true}},
      {"depthwise weights as inputs",
       {.op = IR_OP_CONV, .nsp = 2, .n = 1, .c = 4, .m = 4, .group = 4,
        .in = {1, 5, 6}, .k = {1, 3, 3}, .bias = true, .w_input = true,
        .b_input = true}},
      {"conv1d",
       {.op = IR_OP_CONV, .nsp = 1, .n = 2, .c = 4, .m = 6, .group = 2,
        .in = {1, 1, 19}, .k = {1, 1, 3}, .s = {1, 1, 2}, .d = {1, 1, 2},
        .pads = {0, 0, 1, 0, 0, 2}, .bias = true}},
      {"conv1d 1x1",
       {.op = IR_OP_CONV, .nsp = 1, .n = 2, .c = 4, .m = 6, .group = 1,
        .in = {1, 1, 19}, .k = {1, 1, 1}, .bias = true}},
      {"conv3d",
       {.op = IR_OP_CONV, .nsp = 3, .n = 1, .c = 4, .m = 17, .group = 1,
        .in = {5, 6, 7}, .k = {2, 3, 3}, .s = {1, 2, 1}, .d = {2, 1, 1},
        .pads = {1, 1, 1, 0, 1, 1}, .bias = true}},
      {"conv3d 1x1",
       {.op = IR_OP_CONV, .nsp = 3, .n = 1, .c = 4, .m = 17, .group = 1,
        .in = {5, 6, 7}, .k = {1, 1, 1}, .bias = true}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    run_conv(&cases[i].cc, cases[i].what);
}

/* ConvTranspose cases share 3 -> 5 channels in batch 1 (CT_CHANNELS) and
 * a 3x3 kernel on a 4x5 input (CT_2D) unless they vary them. */
#define CT_CHANNELS                                                          \
  .op = IR_OP_CONV_TRANSPOSE, .n = 1, .c = 3, .m = 5, .group = 1
#define CT_2D .nsp = 2, .in = {1, 4, 5}, .k = {1, 3, 3}

static void transpose_cases(void) {
  static const named_case cases[] = {
      {"convtranspose", {CT_CHANNELS, CT_2D, .bias = true}},
      {"convtranspose strides output_padding",
       {CT_CHANNELS, CT_2D, .s = {1, 3, 2}, .bias = true,
        .has_out_pad = true, .out_pad = {0, 1, 1}}},
      {"convtranspose pads",
       {CT_CHANNELS, CT_2D, .s = {1, 3, 2}, .bias = true,
        .pads = {0, 1, 2, 0, 1, 2}}},
      {"convtranspose output_shape",
       {CT_CHANNELS, CT_2D, .s = {1, 3, 2}, .bias = true,
        .has_out_shape = true, .out_shape = {0, 10, 8}}},
      {"convtranspose SAME_UPPER",
       {CT_CHANNELS, CT_2D, .s = {1, 2, 2}, .bias = true,
        .auto_pad = "SAME_UPPER"}},
      {"convtranspose SAME_LOWER",
       {CT_CHANNELS, CT_2D, .s = {1, 2, 2}, .bias = true,
        .auto_pad = "SAME_LOWER"}},
      {"convtranspose dilations",
       {CT_CHANNELS, CT_2D, .d = {1, 2, 2}, .bias = true}},
      {"convtranspose groups batch 2",
       {.op = IR_OP_CONV_TRANSPOSE, .n = 2, .c = 4, .m = 6, .group = 2, CT_2D,
        .bias = true}},
      {"convtranspose chunked 150->20",
       {.op = IR_OP_CONV_TRANSPOSE, .n = 1, .c = 150, .m = 20, .group = 1,
        CT_2D, .bias = true}},
      {"convtranspose weights as input",
       {CT_CHANNELS, CT_2D, .w_input = true}},
      {"convtranspose 1d",
       {CT_CHANNELS, .nsp = 1, .in = {1, 1, 5}, .k = {1, 1, 3},
        .s = {1, 1, 2}, .bias = true}},
      {"convtranspose 3d",
       {CT_CHANNELS, .nsp = 3, .in = {3, 4, 5}, .k = {2, 3, 3},
        .s = {2, 1, 1}, .bias = true}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    run_conv(&cases[i].cc, cases[i].what);
}
#undef CT_CHANNELS
#undef CT_2D

static void quant_cases(void) {
  static const ir_dtype types[2] = {IR_U8, IR_I8};
  for (int xt = 0; xt < 2; xt++)
    for (int wt = 0; wt < 2; wt++)
      for (int pc = 0; pc < 2; pc++) {
        char what[128];
        conv_case cc = {.op = IR_OP_CONV_INTEGER, .nsp = 2, .n = 1, .c = 3,
                        .m = 4, .group = 1, .in = {1, 5, 6}, .k = {1, 3, 2},
                        .s = {1, 1, 2}, .d = {1, 1, 1},
                        .pads = {0, 1, 0, 0, 1, 1}, .xt = types[xt],
                        .wt = types[wt], .per_channel = pc};
        snprintf(what, sizeof what, "ConvInteger %s x %s%s",
                 ir_dtype_name(types[xt]), ir_dtype_name(types[wt]),
                 pc ? " per-channel zp" : "");
        run_conv(&cc, what);
        for (int yt = 0; yt < 2; yt++) {
          conv_case q = cc;
          q.op = IR_OP_QLINEAR_CONV;
          q.yt = types[yt];
          q.bias = yt == 0;
          q.group = 1;
          snprintf(what, sizeof what, "QLinearConv %s x %s -> %s%s",
                   ir_dtype_name(types[xt]), ir_dtype_name(types[wt]),
                   ir_dtype_name(types[yt]), pc ? " per-channel" : "");
          run_conv(&q, what);
        }
      }
  static const named_case grouped[] = {
      {"QLinearConv grouped dilated batch 2",
       {.op = IR_OP_QLINEAR_CONV, .nsp = 2, .n = 2, .c = 6, .m = 40,
        .group = 2, .in = {1, 7, 7}, .k = {1, 3, 3}, .s = {1, 2, 1},
        .d = {1, 1, 2}, .pads = {0, 2, 1, 0, 1, 2}, .xt = IR_U8,
        .wt = IR_I8, .yt = IR_U8, .per_channel = true, .bias = true}},
      {"QLinearConv 1d",
       {.op = IR_OP_QLINEAR_CONV, .nsp = 1, .n = 2, .c = 6, .m = 40,
        .group = 2, .in = {1, 1, 7}, .k = {1, 1, 3}, .s = {1, 2, 1},
        .d = {1, 1, 2}, .pads = {0, 2, 1, 0, 1, 2}, .xt = IR_U8,
        .wt = IR_I8, .yt = IR_U8, .per_channel = true, .bias = true}},
  };
  for (size_t i = 0; i < sizeof grouped / sizeof grouped[0]; i++)
    run_conv(&grouped[i].cc, grouped[i].what);
}

static void random_cases(int count) {
  for (int i = 0; i < count; i++) {
    conv_case cc;
    memset(&cc, 0, sizeof cc);
    cc.op = kt_irand(0, 4) == 0 ? IR_OP_CONV_TRANSPOSE : IR_OP_CONV;
    cc.nsp = (int)(kt_irand(0, 5) == 0 ? kt_irand(1, 3) : 2);
    cc.n = kt_irand(1, 2);
    int64_t kind = kt_irand(0, 3); /* 0 dense 1 grouped 2 depthwise 3 1x1 */
    cc.group = kind == 1 ? kt_irand(2, 3) : 1;
    int64_t cg = kt_irand(1, 9), mg = kt_irand(1, 40);
    if (kind == 2) {
      cc.group = kt_irand(1, 70);
      cg = 1;
      mg = kt_irand(0, 3) == 0 ? 2 : 1;
    }
    cc.c = cg * cc.group;
    cc.m = mg * cc.group;
    for (int j = 3 - cc.nsp; j < 3; j++) {
      cc.in[j] = kt_irand(1, 12);
      cc.k[j] = kind == 3 ? 1 : kt_irand(1, 4);
      cc.s[j] = kind == 3 ? 1 : kt_irand(1, 3);
      cc.d[j] = kind == 3 ? 1 : kt_irand(1, 2);
      int64_t ek = (cc.k[j] - 1) * cc.d[j] + 1;
      if (kind != 3) {
        cc.pads[j] = kt_irand(0, ek - 1);
        cc.pads[3 + j] = kt_irand(0, ek - 1);
      }
      if (cc.op == IR_OP_CONV && cc.in[j] + cc.pads[j] + cc.pads[3 + j] < ek)
        cc.in[j] = ek;
      if (cc.op == IR_OP_CONV_TRANSPOSE) {
        cc.out_pad[j] = kt_irand(0, cc.s[j] - 1);
        cc.has_out_pad = true;
        int64_t full = cc.s[j] * (cc.in[j] - 1) + cc.out_pad[j] + ek;
        if (full - cc.pads[j] - cc.pads[3 + j] < 1)
          cc.pads[j] = cc.pads[3 + j] = 0;
      }
    }
    for (int j = 0; j < 3 - cc.nsp; j++)
      cc.in[j] = cc.k[j] = cc.s[j] = cc.d[j] = 1;
    cc.bias = kt_irand(0, 1);
    char what[160];
    snprintf(what, sizeof what,
             "random #%d %s %dd n%lld c%lld m%lld g%lld in %lldx%lldx%lld k "
             "%lldx%lldx%lld s %lldx%lldx%lld",
             i, cc.op == IR_OP_CONV ? "Conv" : "ConvT", cc.nsp, (long long)cc.n,
             (long long)cc.c, (long long)cc.m, (long long)cc.group,
             (long long)cc.in[0], (long long)cc.in[1], (long long)cc.in[2],
             (long long)cc.k[0], (long long)cc.k[1], (long long)cc.k[2],
             (long long)cc.s[0], (long long)cc.s[1], (long long)cc.s[2]);
    run_conv(&cc, what);
  }
}

int main(void) {
  fixed_cases();
  transpose_cases();
  quant_cases();
  random_cases(120);
  return check_report("test_conv");
}
