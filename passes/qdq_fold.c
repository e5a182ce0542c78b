/* qdq_fold.c — explicit quantisation: QDQ patterns become QOperator ops.
 *
 * Requires: static shapes; quantisation parameters (scale, zero point) of
 * every QuantizeLinear/DequantizeLinear that takes part are constants.
 * Provides: the QOperator form of docs/int8.md ("what lowering sees"):
 * each float op whose inputs are all DequantizeLinear outputs and whose
 * single consumer is a QuantizeLinear becomes the matching int8 op with the
 * model's own scales and zero points, so a QDQ model turns int8 without
 * --int8 (TensorRT's explicit mode).  The table, in the order it is tried:
 *
 *   DQ x, DQ w, [DQ b | float b] → Conv [→ Relu|Clip] → Q   QLinearConv
 *   DQ a, DQ b → MatMul [→ Relu|Clip] → Q                     QLinearMatMul
 *   DQ a, DQ w, [b] → Gemm, or MatMul → Add b, [→ act] → Q    QGemm (ms)
 *   DQ a, DQ b → Add | Mul → Q                                QLinearAdd/Mul
 *   DQ xi → Concat → Q                                        QLinearConcat
 *   DQ x → GlobalAveragePool | AveragePool → Q   QLinear(Global)AveragePool
 *   DQ x → Sigmoid | LeakyRelu → Q               QLinearSigmoid/LeakyRelu
 *   DQ x → MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice,
 *          Split → Q (same parameters)           the op on the int8 tensor
 *   DQ x → Relu → Q (same parameters)            Max(x, zero point)
 *   DQ x → Q (same parameters)                   removed
 *
 * Bias: a float bias becomes int32 rne(b / (s_x·s_w[c])) (DESIGN §5); a
 * DequantizeLinear'd int32 bias is used as is when its scale is s_x·s_w[c]
 * (computed in float32, as ONNX Runtime's quantiser writes it), and is
 * requantised through float otherwise.
 * Activations between a product and its Q act in the quantised domain:
 * clamp(q(x), q(lo), q(hi)) equals q(clamp(x, lo, hi)) because quantising
 * is monotone.  A bound that is at or beyond the type's range after
 * quantising (Relu with the zero point at qmin, the common uint8 case) is
 * folded away; otherwise it is kept as Max/Min with a constant on the int8
 * tensor (the Relu/Clip node becomes the Max, the Q node the Min).
 *
 * Everything else stays float: DQ → float op → Q, which the engine runs as
 * it is written.  DequantizeLinear of a constant that still feeds a float op
 * is then computed at build time (fold.c leaves DequantizeLinear to this
 * pass so weights stay int8 for the patterns above).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "passes.h"
#include "quantize.h"

/* Quantisation parameters of one Q or DQ node: the integer side |q|, the
 * constant scale/zero-point tensors, and a readable copy of the values. */
typedef struct qparams {
  ir_node_id node;
  ir_tensor_id q;     /* the integer tensor (DQ's input, Q's output) */
  ir_tensor_id scale; /* constant float32 */
  ir_tensor_id zp;    /* constant, or 0 when absent (0 of the q dtype) */
  ir_dtype qtype;
  int axis;           /* normalised; -1 per tensor */
  int count;          /* 1 per tensor */
  const float *s;
  int64_t z0;         /* first zero point (per-tensor users) */
} qparams;

typedef struct fold_ctx {
  ir_graph *g;
  uint32_t *uses;       /* [tensor] consumers + graph-output uses */
  ir_node_id *consumer; /* [tensor] the last consumer seen (uses == 1) */
  uint32_t cap;         /* tensors uses/consumer have room for */
  bool *dead;           /* [node] */
  int n_fold[IR_OP_COUNT];
  int n_act_kept, n_dqq;
} fold_ctx;

/* Marks a node for removal; its outputs are (or will be) produced by the
 * node that replaces it, so it lets go of them. */
static void kill(fold_ctx *c, ir_node_id nid) {
  c->dead[nid] = true;
  c->g->nodes[nid].n_out = 0;
}

static bool is_const(const ir_graph *g, ir_tensor_id t) {
  return t && g->tensors[t].role == IR_ROLE_CONSTANT && g->tensors[t].data;
}

/* Reads a Q/DQ node's parameters; false when they are not constants of
 * the supported kind (then the pattern does not match). */
static bool read_qparams(const ir_graph *g, ir_node_id nid, qparams *p) {
  const ir_node *n = &g->nodes[nid];
  memset(p, 0, sizeof *p);
  p->node = nid;
  if (n->op != IR_OP_QUANTIZE_LINEAR && n->op != IR_OP_DEQUANTIZE_LINEAR)
    return false;
  bool dq = n->op == IR_OP_DEQUANTIZE_LINEAR;
  p->q = dq ? n->in[0] : n->out[0];
  p->scale = n->in[1];
  p->zp = n->n_in > 2 ? n->in[2] : 0;
  if (!p->q || !is_const(g, p->scale) || (p->zp && !is_const(g, p->zp)))
    return false;
  const ir_tensor *st = &g->tensors[p->scale];
  const ir_tensor *qt = &g->tensors[p->q];
  if (st->dtype != IR_F32 || st->shape.rank > 1) return false;
  p->qtype = qt->dtype;
  if (p->qtype != IR_U8 && p->qtype != IR_I8 && p->qtype != IR_I32)
    return false;
  p->count = (int)ir_shape_numel(&st->shape);
  if (st->shape.rank == 0) p->count = 1;
  p->s = st->data;
  for (int i = 0; i < p->count; i++)
    if (!(p->s[i] > 0.0f) || !isfinite(p->s[i])) return false;
  p->z0 = p->zp ? ir_load_i64(g->tensors[p->zp].dtype,
                              g->tensors[p->zp].data, 0)
                : 0;
  p->axis = -1;
  if (p->count > 1) {
    const ir_p_quant_axis *ax = n->params;
    int rank = qt->shape.rank;
    int64_t a = ax ? ax->axis : 1;
    if (a < 0) a += rank;
    if (a < 0 || a >= rank || qt->shape.dims[a] != p->count) return false;
    p->axis = (int)a;
  }
  return true;
}

static int64_t zp_at(const ir_graph *g, const qparams *p, int i) {
  if (!p->zp) return 0;
  const ir_tensor *t = &g->tensors[p->zp];
  return ir_load_i64(t->dtype, t->data, p->count == 1 ? 0 : (size_t)i);
}

static bool same_params(const ir_graph *g, const qparams *a,
                        const qparams *b) {
  if (a->qtype != b->qtype || a->count != b->count || a->axis != b->axis)
    return false;
  for (int i = 0; i < a->count; i++)
    if (memcmp(&a->s[i], &b->s[i], sizeof(float)) != 0 ||
        zp_at(g, a, i) != zp_at(g, b, i))
      return false;
  return true;
}

/* The DequantizeLinear producing |t|, with 8-bit data (or |allow_i32|). */
static bool dq_input(const fold_ctx *c, ir_tensor_id t, bool allow_i32,
                     qparams *p) {
  if (!t) return false;
  ir_node_id pr = c->g->tensors[t].producer;
  if (!pr || c->dead[pr] ||
      c->g->nodes[pr].op != IR_OP_DEQUANTIZE_LINEAR)
    return false;
  if (!read_qparams(c->g, pr, p)) return false;
  return p->qtype != IR_I32 || allow_i32;
}

/* The single QuantizeLinear consuming |t| (t not a graph output), 8-bit,
 * per tensor. */
static bool q_output(const fold_ctx *c, ir_tensor_id t, qparams *p) {
  if (!t || c->uses[t] != 1 || c->g->tensors[t].is_output) return false;
  ir_node_id q = c->consumer[t];
  if (!q || c->dead[q] || c->g->nodes[q].op != IR_OP_QUANTIZE_LINEAR ||
      c->g->nodes[q].in[0] != t)
    return false;
  if (!read_qparams(c->g, q, p)) return false;
  return p->count == 1 && p->qtype != IR_I32;
}

static void qrange(ir_dtype t, int64_t *lo, int64_t *hi) {
  *lo = t == IR_I8 ? -128 : 0;
  *hi = t == IR_I8 ? 127 : 255;
}

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/* A new constant. */
static ingot_status add_const(ir_graph *g, const char *hint, ir_dtype dt,
                              int rank, int64_t len, const void *data,
                              ir_tensor_id *out) {
  ir_value v = {.dtype = dt};
  v.shape.rank = rank;
  if (rank) v.shape.dims[0] = len;
  v.data = (void *)data;
  v.borrowed = true;
  return ir_graph_add_constant(g, NULL, hint, &v, out);
}

/* The zero-point tensor of |p|, made (0 of the q type) when absent. */
static ingot_status zp_tensor(ir_graph *g, const qparams *p,
                              ir_tensor_id *out) {
  if (p->zp) {
    *out = p->zp;
    return NULL;
  }
  int64_t zero = 0;
  return add_const(g, "qdq_zero_point", p->qtype, 0, 0, &zero, out);
}

/*===------------------------------------------------------------------===*/
/* Rewriting a node in place                                               */
/*===------------------------------------------------------------------===*/

/* Turns node |nid| into |op| with the given inputs, one output and
 * attributes (copied), then runs the op's parse.  If parse refuses (an
 * attribute the int8 op lacks), the node is restored and *ok is false. */
static ingot_status rewrite(ir_graph *g, ir_node_id nid, ir_op op,
                            const ir_tensor_id *in, int n_in,
                            ir_tensor_id out, const ir_attr *attrs,
                            int n_attrs, bool *ok) {
  ir_node saved = g->nodes[nid];
  ir_node *n = &g->nodes[nid];
  ir_tensor_id *ins = ir_arena_calloc(&g->arena, (size_t)n_in, sizeof *ins);
  ir_tensor_id *outs = ir_arena_calloc(&g->arena, 1, sizeof *outs);
  ir_attr *at = n_attrs ? ir_arena_calloc(&g->arena, (size_t)n_attrs,
                                          sizeof *at)
                        : NULL;
  if (!ins || !outs || (n_attrs && !at)) return oom();
  memcpy(ins, in, (size_t)n_in * sizeof *ins);
  if (n_attrs) memcpy(at, attrs, (size_t)n_attrs * sizeof *at);
  outs[0] = out;
  n->op = op;
  n->in = ins;
  n->n_in = (uint16_t)n_in;
  n->out = outs;
  n->n_out = 1;
  n->attrs = at;
  n->n_attrs = (uint32_t)n_attrs;
  n->params = NULL;
  n->domain = (ir_op_get(op)->flags & IR_OPF_MS_DOMAIN) ? "com.microsoft" : "";
  n->opset = (ir_op_get(op)->flags & IR_OPF_MS_DOMAIN) ? 1 : (int)g->opset;
  ingot_status s = ir_op_get(op)->parse(g, nid);
  if (s) {
    ingot_status_free(s);
    g->nodes[nid] = saved;
    *ok = false;
    return NULL;
  }
  g->tensors[out].producer = nid;
  for (int k = 0; k < saved.n_out; k++)
    if (saved.out[k] && saved.out[k] != out &&
        g->tensors[saved.out[k]].producer == nid)
      g->tensors[saved.out[k]].producer = 0;
  *ok = true;
  return NULL;
}

/* Attributes of |n| other than those named in |drop| (NULL-terminated). */
static int attrs_without(const ir_node *n, const char *const *drop,
                         ir_attr *out, int cap) {
  int k = 0;
  for (uint32_t i = 0; i < n->n_attrs && k < cap; i++) {
    bool skip = false;
    for (const char *const *d = drop; *d; d++)
      skip |= strcmp(n->attrs[i].name, *d) == 0;
    if (!skip) out[k++] = n->attrs[i];
  }
  return k;
}

/*===------------------------------------------------------------------===*/
/* Activations between a product and its Q                                */
/*===------------------------------------------------------------------===*/

/* An optional Relu/Clip after |t| and the Q after that. */
typedef struct act_tail {
  ir_node_id act;  /* 0: none */
  float lo, hi;    /* the float clamp (±inf when open) */
  qparams q;
} act_tail;

static bool clip_bound(const ir_graph *g, const ir_node *n, int idx,
                       float dflt, float *out) {
  *out = dflt;
  if (idx >= n->n_in || !n->in[idx]) return true;
  const ir_tensor *t = &g->tensors[n->in[idx]];
  if (!is_const(g, n->in[idx]) || t->dtype != IR_F32 ||
      ir_shape_numel(&t->shape) != 1)
    return false;
  *out = ((const float *)t->data)[0];
  return !isnan(*out);
}

static bool match_tail(const fold_ctx *c, ir_tensor_id t, act_tail *tail) {
  memset(tail, 0, sizeof *tail);
  tail->lo = -INFINITY;
  tail->hi = INFINITY;
  if (q_output(c, t, &tail->q)) return true;
  if (!t || c->uses[t] != 1 || c->g->tensors[t].is_output) return false;
  ir_node_id a = c->consumer[t];
  if (!a || c->dead[a]) return false;
  const ir_node *an = &c->g->nodes[a];
  if (an->op == IR_OP_RELU) {
    tail->lo = 0.0f;
  } else if (an->op == IR_OP_CLIP) {
    if (!clip_bound(c->g, an, 1, -INFINITY, &tail->lo) ||
        !clip_bound(c->g, an, 2, INFINITY, &tail->hi) || tail->lo > tail->hi)
      return false;
  } else {
    return false;
  }
  tail->act = a;
  return q_output(c, an->out[0], &tail->q);
}

/* Quantised bound: clamp(rne(v / s) + zp) as QuantizeLinear computes it. */
static int64_t quant_bound(float v, const qparams *q) {
  int64_t lo, hi;
  qrange(q->qtype, &lo, &hi);
  if (isinf(v)) return v < 0 ? lo : hi;
  float x = v / q->s[0];
  double r = (double)nearbyintf(x) + (double)q->z0;
  return r < (double)lo ? lo : r > (double)hi ? hi : (int64_t)r;
}

/* The int8 op (already rewritten at |nid|) writes |mid|; applies the
 * tail's clamp as Max/Min nodes reusing the act and Q nodes, or nothing
 * when the clamp is exact.  Returns the tensor the int8 op must write. */
static ingot_status finish_tail(fold_ctx *c, const act_tail *tail,
                                ir_tensor_id *op_out) {
  ir_graph *g = c->g;
  ir_tensor_id qout = g->nodes[tail->q.node].out[0];
  int64_t lo, hi;
  qrange(tail->q.qtype, &lo, &hi);
  int64_t qlo = quant_bound(tail->lo, &tail->q);
  int64_t qhi = quant_bound(tail->hi, &tail->q);
  bool need_lo = tail->act && qlo > lo, need_hi = tail->act && qhi < hi;
  if (tail->act && !need_lo && !need_hi) kill(c, tail->act);
  kill(c, tail->q.node);
  if (!need_lo && !need_hi) {
    *op_out = qout;
    return NULL;
  }
  /* The act node's input (the product's old float output) becomes the
   * int8 product; its output the clamped one. */
  const ir_node *an = &g->nodes[tail->act];
  ir_tensor_id mid = an->in[0], act_out = an->out[0];
  *op_out = mid;
  ir_tensor_id blo = 0, bhi = 0;
  if (need_lo)
    INGOT_RETURN_IF_ERROR(
        add_const(g, "qdq_clamp_lo", tail->q.qtype, 0, 0, &qlo, &blo));
  if (need_hi)
    INGOT_RETURN_IF_ERROR(
        add_const(g, "qdq_clamp_hi", tail->q.qtype, 0, 0, &qhi, &bhi));
  bool ok;
  ir_tensor_id in2[2] = {mid, need_lo ? blo : bhi};
  ir_tensor_id first_out = need_lo && need_hi ? act_out : qout;
  INGOT_RETURN_IF_ERROR(rewrite(g, tail->act, need_lo ? IR_OP_MAX : IR_OP_MIN,
                                in2, 2, first_out, NULL, 0, &ok));
  if (!ok) return ingot_make_status(INGOT_INTERNAL, "qdq-fold: Max/Min");
  if (need_lo && need_hi) {
    ir_tensor_id in3[2] = {act_out, bhi};
    INGOT_RETURN_IF_ERROR(
        rewrite(g, tail->q.node, IR_OP_MIN, in3, 2, qout, NULL, 0, &ok));
    if (!ok) return ingot_make_status(INGOT_INTERNAL, "qdq-fold: Min");
    c->dead[tail->q.node] = false;
  }
  c->dead[tail->act] = false;
  c->n_act_kept++;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Int32 bias                                                              */
/*===------------------------------------------------------------------===*/

/* The int32 bias (one per output channel |m|) for input scale |sx| and
 * weight scales |w|, from input |b| of a product: a float constant, or a
 * DequantizeLinear'd int32 constant.  *ok false when |b| is neither. */
static ingot_status make_bias(fold_ctx *c, ir_tensor_id b, int64_t m,
                              float sx, const qparams *w, const char *hint,
                              ir_tensor_id *out, bool *ok) {
  ir_graph *g = c->g;
  *ok = false;
  const float *fb = NULL;
  const int32_t *qb = NULL;
  qparams bp;
  if (is_const(g, b) && g->tensors[b].dtype == IR_F32) {
    fb = g->tensors[b].data;
    if (ir_shape_numel(&g->tensors[b].shape) != (size_t)m ||
        g->tensors[b].shape.rank != 1)
      return NULL;
  } else if (dq_input(c, b, true, &bp) && bp.qtype == IR_I32 &&
             is_const(g, bp.q)) {
    const ir_tensor *qt = &g->tensors[bp.q];
    if (qt->shape.rank != 1 || qt->shape.dims[0] != m ||
        (bp.count != 1 && bp.count != m))
      return NULL;
    for (int i = 0; i < bp.count; i++)
      if (zp_at(g, &bp, i) != 0) return NULL;
    qb = qt->data;
  } else {
    return NULL;
  }
  int32_t *v = malloc((size_t)m * sizeof *v);
  if (!v) return oom();
  for (int64_t i = 0; i < m; i++) {
    float sw = w->s[w->count == 1 ? 0 : i];
    float sb = sx * sw;
    float x;
    if (qb) {
      float bs = bp.s[bp.count == 1 ? 0 : i];
      if (memcmp(&bs, &sb, sizeof bs) == 0) {
        v[i] = qb[i];
        continue;
      }
      x = (float)qb[i] * bs; /* DequantizeLinear's value */
    } else {
      x = fb[i];
    }
    float q = x / sb;
    double r = isnan(q) ? 0.0 : (double)nearbyintf(q);
    v[i] = r < -2147483648.0 ? INT32_MIN
           : r > 2147483647.0 ? INT32_MAX
                              : (int32_t)r;
  }
  ingot_status s = add_const(g, hint, IR_I32, 1, m, v, out);
  free(v);
  if (!s) *ok = true;
  return s;
}

/*===------------------------------------------------------------------===*/
/* The patterns                                                            */
/*===------------------------------------------------------------------===*/

static bool per_tensor8(const qparams *p) {
  return p->count == 1 && p->qtype != IR_I32;
}

static ingot_status fold_conv(fold_ctx *c, ir_node_id nid) {
  ir_graph *g = c->g;
  const ir_node *n = &g->nodes[nid];
  qparams x, w;
  act_tail tail;
  if (!dq_input(c, n->in[0], false, &x) || !per_tensor8(&x)) return NULL;
  if (!dq_input(c, n->in[1], false, &w) || !is_const(g, w.q)) return NULL;
  if (w.count != 1 && w.axis != 0) return NULL;
  if (!match_tail(c, n->out[0], &tail)) return NULL;
  int64_t m = g->tensors[w.q].shape.dims[0];
  ir_tensor_id bias = 0;
  bool ok = true;
  if (n->n_in > 2 && n->in[2]) {
    INGOT_RETURN_IF_ERROR(make_bias(c, n->in[2], m, x.s[0], &w,
                                    "qdq_bias", &bias, &ok));
    if (!ok) return NULL;
  }
  ir_tensor_id xz, wz, yz;
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &x, &xz));
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &w, &wz));
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &tail.q, &yz));
  ir_tensor_id in[9] = {x.q, x.scale, xz, w.q, w.scale, wz,
                        tail.q.scale, yz, bias};
  ir_attr at[16];
  static const char *const none[] = {NULL};
  int na = attrs_without(n, none, at, 16);
  /* Rewrite with the Q's output; finish_tail says whether a kept clamp
   * reads the product's own (old) output instead. */
  ir_tensor_id out = g->nodes[tail.q.node].out[0];
  INGOT_RETURN_IF_ERROR(rewrite(g, nid, IR_OP_QLINEAR_CONV, in, bias ? 9 : 8,
                                out, at, na, &ok));
  if (!ok) return NULL;
  ir_tensor_id op_out;
  INGOT_RETURN_IF_ERROR(finish_tail(c, &tail, &op_out));
  if (op_out != out) {
    g->nodes[nid].out[0] = op_out;
    g->tensors[op_out].producer = nid;
  }
  c->n_fold[IR_OP_CONV]++;
  return NULL;
}

/* MatMul → [Add bias] → [act] → Q, and Gemm → [act] → Q. */
static ingot_status fold_product(fold_ctx *c, ir_node_id nid) {
  ir_graph *g = c->g;
  const ir_node *n = &g->nodes[nid];
  bool gemm = n->op == IR_OP_GEMM;
  qparams a, b;
  if (!dq_input(c, n->in[0], false, &a) || !per_tensor8(&a)) return NULL;
  if (!dq_input(c, n->in[1], false, &b)) return NULL;
  /* Copies: adding constants below may move the tensor array. */
  ir_shape bshape = g->tensors[b.q].shape, ashape = g->tensors[a.q].shape;
  const ir_shape *bs = &bshape, *as = &ashape;
  ir_tensor_id bias_in = 0, tail_from = n->out[0];
  ir_node_id add = 0;
  bool trans_b = false;
  if (gemm) {
    const ir_p_gemm *p = n->params;
    if (p->alpha != 1.0f || p->trans_a) return NULL;
    if (n->n_in > 2 && n->in[2]) {
      if (p->beta != 1.0f) return NULL;
      bias_in = n->in[2];
    }
    trans_b = p->trans_b;
  } else if (as->rank == 2 && bs->rank == 2 && c->uses[n->out[0]] == 1 &&
             !g->tensors[n->out[0]].is_output && c->consumer[n->out[0]] &&
             g->nodes[c->consumer[n->out[0]]].op == IR_OP_ADD) {
    /* MatMul + Add of a [N] bias: QGemm. */
    add = c->consumer[n->out[0]];
    const ir_node *an = &g->nodes[add];
    bias_in = an->in[0] == n->out[0] ? an->in[1] : an->in[0];
    tail_from = an->out[0];
  }
  int64_t ncols = bs->rank == 2 ? bs->dims[trans_b ? 0 : 1] : -1;
  /* Weight scales: per tensor or one per output column. */
  if (b.count != 1) {
    int col_axis = trans_b ? 0 : bs->rank - 1;
    if (bs->rank < 1 || b.axis != col_axis) return NULL;
  }
  act_tail tail;
  if (!match_tail(c, tail_from, &tail)) return NULL;
  bool ok = true;
  ir_tensor_id bias = 0;
  if (bias_in) {
    if (as->rank != 2 || bs->rank != 2 || !is_const(g, b.q)) return NULL;
    INGOT_RETURN_IF_ERROR(make_bias(c, bias_in, ncols, a.s[0], &b,
                                    "qdq_bias", &bias, &ok));
    if (!ok) return NULL;
  }
  ir_tensor_id az, bz, yz;
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &a, &az));
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &b, &bz));
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &tail.q, &yz));
  ir_tensor_id out = g->nodes[tail.q.node].out[0];
  if (bias_in || gemm) {
    if (as->rank != 2 || bs->rank != 2) return NULL;
    ir_tensor_id in[9] = {a.q, a.scale, az, b.q, b.scale, bz,
                          bias, tail.q.scale, yz};
    ir_attr at[8];
    static const char *const drop[] = {"beta", "broadcast", "alpha",
                                       "transA", NULL};
    int na = gemm ? attrs_without(n, drop, at, 8) : 0;
    INGOT_RETURN_IF_ERROR(
        rewrite(g, nid, IR_OP_QGEMM, in, 9, out, at, na, &ok));
    if (!ok) return NULL;
    if (add) kill(c, add);
  } else {
    ir_tensor_id in[8] = {a.q, a.scale, az, b.q, b.scale, bz,
                          tail.q.scale, yz};
    INGOT_RETURN_IF_ERROR(
        rewrite(g, nid, IR_OP_QLINEAR_MATMUL, in, 8, out, NULL, 0, &ok));
    if (!ok) return NULL;
  }
  ir_tensor_id op_out;
  INGOT_RETURN_IF_ERROR(finish_tail(c, &tail, &op_out));
  if (op_out != out) {
    g->nodes[nid].out[0] = op_out;
    g->tensors[op_out].producer = nid;
  }
  c->n_fold[gemm || bias_in ? IR_OP_GEMM : IR_OP_MATMUL]++;
  return NULL;
}

/* Ops whose every input is a per-tensor DQ and whose output goes to one Q. */
static ingot_status fold_simple(fold_ctx *c, ir_node_id nid) {
  ir_graph *g = c->g;
  const ir_node *n = &g->nodes[nid];
  ir_op from = n->op;
  qparams x[2], y;
  int nx = from == IR_OP_ADD || from == IR_OP_MUL ? 2 : 1;
  for (int i = 0; i < nx; i++)
    if (!dq_input(c, n->in[i], false, &x[i]) || !per_tensor8(&x[i]))
      return NULL;
  if (nx == 2 && x[0].qtype != x[1].qtype) return NULL;
  if (!q_output(c, n->out[0], &y)) return NULL;
  ir_tensor_id z[2], yz;
  for (int i = 0; i < nx; i++) INGOT_RETURN_IF_ERROR(zp_tensor(g, &x[i], &z[i]));
  INGOT_RETURN_IF_ERROR(zp_tensor(g, &y, &yz));
  ir_tensor_id out = g->nodes[y.node].out[0];
  ir_tensor_id in[8];
  int nin;
  ir_op to;
  if (nx == 2) {
    if (x[0].qtype != y.qtype) return NULL;
    ir_tensor_id v[8] = {x[0].q, x[0].scale, z[0], x[1].q, x[1].scale, z[1],
                         y.scale, yz};
    memcpy(in, v, sizeof v);
    nin = 8;
    to = from == IR_OP_ADD ? IR_OP_QLINEAR_ADD : IR_OP_QLINEAR_MUL;
  } else {
    if (x[0].qtype != y.qtype) return NULL;
    ir_tensor_id v[5] = {x[0].q, x[0].scale, z[0], y.scale, yz};
    memcpy(in, v, sizeof v);
    nin = 5;
    to = from == IR_OP_GLOBAL_AVERAGE_POOL ? IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL
         : from == IR_OP_AVERAGE_POOL      ? IR_OP_QLINEAR_AVERAGE_POOL
         : from == IR_OP_SIGMOID           ? IR_OP_QLINEAR_SIGMOID
                                           : IR_OP_QLINEAR_LEAKY_RELU;
  }
  ir_attr at[16];
  static const char *const none[] = {NULL};
  int na = attrs_without(n, none, at, 16);
  bool ok;
  INGOT_RETURN_IF_ERROR(rewrite(g, nid, to, in, nin, out, at, na, &ok));
  if (!ok) return NULL;
  kill(c, y.node);
  c->n_fold[from]++;
  return NULL;
}

static ingot_status fold_concat(fold_ctx *c, ir_node_id nid) {
  ir_graph *g = c->g;
  const ir_node *n = &g->nodes[nid];
  qparams y;
  if (!q_output(c, n->out[0], &y) || n->n_in > 1000) return NULL;
  ir_tensor_id *in = malloc(((size_t)n->n_in * 3 + 2) * sizeof *in);
  if (!in) return oom();
  ingot_status s = zp_tensor(g, &y, &in[1]);
  in[0] = y.scale;
  bool match = !s;
  for (int i = 0; match && i < n->n_in; i++) {
    qparams x;
    match = dq_input(c, n->in[i], false, &x) && per_tensor8(&x) &&
            x.qtype == y.qtype;
    if (match) {
      in[2 + 3 * i] = x.q;
      in[3 + 3 * i] = x.scale;
      s = zp_tensor(g, &x, &in[4 + 3 * i]);
      match = !s;
    }
  }
  bool ok = false;
  if (match) {
    ir_attr at[4];
    static const char *const none[] = {NULL};
    int na = attrs_without(n, none, at, 4);
    s = rewrite(g, nid, IR_OP_QLINEAR_CONCAT, in, 2 + 3 * n->n_in,
                g->nodes[y.node].out[0], at, na, &ok);
  }
  free(in);
  if (!s && ok) {
    kill(c, y.node);
    c->n_fold[IR_OP_CONCAT]++;
  }
  return s;
}

/* Data movement (and MaxPool) on the integer tensor: input 0 from a DQ,
 * every used output to a Q with the same parameters. */
static ingot_status fold_passthrough(fold_ctx *c, ir_node_id nid) {
  ir_graph *g = c->g;
  ir_node *n = &g->nodes[nid];
  qparams x;
  if (!dq_input(c, n->in[0], false, &x) || !per_tensor8(&x)) return NULL;
  int nout = n->op == IR_OP_MAX_POOL ? 1 : n->n_out;
  if (n->op == IR_OP_MAX_POOL && n->n_out > 1 && n->out[1]) return NULL;
  qparams y[64];
  if (nout > 64) return NULL;
  for (int k = 0; k < nout; k++)
    if (!q_output(c, n->out[k], &y[k]) || !same_params(g, &x, &y[k]))
      return NULL;
  if (n->op == IR_OP_RELU) {
    /* Relu in the quantised domain: Max(x, zero point). */
    ir_tensor_id z;
    INGOT_RETURN_IF_ERROR(add_const(g, "qdq_relu_zp", x.qtype, 0, 0, &x.z0, &z));
    ir_tensor_id in[2] = {x.q, z};
    bool ok;
    INGOT_RETURN_IF_ERROR(rewrite(g, nid, IR_OP_MAX, in, 2,
                                  g->nodes[y[0].node].out[0], NULL, 0, &ok));
    if (!ok) return NULL;
  } else {
    n->in[0] = x.q;
    for (int k = 0; k < nout; k++) {
      ir_tensor_id qo = g->nodes[y[k].node].out[0];
      n->out[k] = qo;
      g->tensors[qo].producer = nid;
    }
  }
  for (int k = 0; k < nout; k++) kill(c, y[k].node);
  c->n_fold[IR_OP_RESHAPE]++;
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Driver                                                                  */
/*===------------------------------------------------------------------===*/

/* Recounts readers; the patterns add constants, so the tables grow. */
static ingot_status count_uses(fold_ctx *c) {
  ir_graph *g = c->g;
  if (g->n_tensors > c->cap) {
    uint32_t cap = g->n_tensors * 2;
    uint32_t *u = realloc(c->uses, cap * sizeof *u);
    if (u) c->uses = u;
    ir_node_id *k = realloc(c->consumer, cap * sizeof *k);
    if (k) c->consumer = k;
    if (!u || !k) return oom();
    c->cap = cap;
  }
  memset(c->uses, 0, g->n_tensors * sizeof *c->uses);
  memset(c->consumer, 0, g->n_tensors * sizeof *c->consumer);
  for (uint32_t i = 0; i < g->n_outputs; i++) c->uses[g->outputs[i]]++;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    if (c->dead[nid]) continue;
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k]) {
        c->uses[n->in[k]]++;
        c->consumer[n->in[k]] = nid;
      }
  }
  return NULL;
}

/* Removes dead-marked nodes and then every node nobody reads. */
static ingot_status sweep(fold_ctx *c) {
  ir_graph *g = c->g;
  INGOT_RETURN_IF_ERROR(count_uses(c));
  for (ir_node_id nid = g->n_nodes - 1; nid >= 1; nid--) {
    ir_node *n = &g->nodes[nid];
    if (c->dead[nid]) continue;
    bool used = false;
    for (int k = 0; k < n->n_out; k++) used |= n->out[k] && c->uses[n->out[k]];
    if (used) continue;
    kill(c, nid);
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] && c->uses[n->in[k]]) c->uses[n->in[k]]--;
  }
  ir_graph_remove_dead(g, c->dead);
  return NULL;
}

/* DQ → Q with equal parameters: readers of the Q read the DQ's input. */
static int drop_dq_q(fold_ctx *c) {
  ir_graph *g = c->g;
  int dropped = 0;
  ir_tensor_id *alias = calloc(g->n_tensors, sizeof *alias);
  if (!alias) return -1;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    ir_node *n = &g->nodes[nid];
    if (c->dead[nid]) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] && alias[n->in[k]]) n->in[k] = alias[n->in[k]];
    if (n->op != IR_OP_QUANTIZE_LINEAR || g->tensors[n->out[0]].is_output)
      continue;
    qparams q, d;
    if (!read_qparams(g, nid, &q) || !dq_input(c, n->in[0], false, &d) ||
        !same_params(g, &q, &d))
      continue;
    alias[n->out[0]] = d.q;
    kill(c, nid);
    dropped++;
  }
  free(alias);
  return dropped;
}

/* DequantizeLinear of a constant left feeding float ops: computed now. */
static ingot_status fold_const_dq(ir_graph *g, int *count) {
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    ir_node *n = &g->nodes[nid];
    if (n->op != IR_OP_DEQUANTIZE_LINEAR) continue;
    bool all = true;
    for (int k = 0; k < n->n_in; k++)
      all &= !n->in[k] || is_const(g, n->in[k]);
    if (!all) continue;
    ir_value in[3] = {{0}}, out = {0};
    for (int k = 0; k < n->n_in && k < 3; k++)
      if (n->in[k]) ir_tensor_as_value(&g->tensors[n->in[k]], &in[k]);
    const ir_op_info *info = ir_op_get(n->op);
    INGOT_RETURN_IF_ERROR(info->infer(n, in, n->n_in, &out, 1));
    INGOT_RETURN_IF_ERROR(ir_value_alloc(&out));
    ingot_status s = info->eval(n, in, n->n_in, &out, 1);
    ir_tensor *t = &g->tensors[n->out[0]];
    void *data = s ? NULL : ir_arena_alloc(&g->arena, ir_value_nbytes(&out));
    if (!s && !data) s = oom();
    if (s) {
      ir_value_free(&out);
      return s;
    }
    memcpy(data, out.data, ir_value_nbytes(&out));
    ir_value_free(&out);
    t->data = data;
    t->role = IR_ROLE_CONSTANT;
    t->dtype = IR_F32;
    t->shape_known = true;
    t->producer = 0;
    n->op = IR_OP_IDENTITY; /* removed by the sweep: its output is constant */
    n->n_out = 0;
    (*count)++;
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* The per-layer table (ingot build --int8)                                */
/*===------------------------------------------------------------------===*/

static bool float_compute(ir_op op) {
  switch (op) {
  case IR_OP_CONV:
  case IR_OP_MATMUL:
  case IR_OP_GEMM:
  case IR_OP_ADD:
  case IR_OP_MUL:
  case IR_OP_CONCAT:
  case IR_OP_GLOBAL_AVERAGE_POOL:
  case IR_OP_AVERAGE_POOL:
  case IR_OP_SIGMOID:
  case IR_OP_LEAKY_RELU:
    return true;
  default:
    return false;
  }
}

/* The quantise pass planned each layer; here it is settled: a layer
 * planned int8 whose node is still a float op (by name) found no pattern.
 * Then --strict-precision turns any requested int8 layer left in float
 * into an error. */
static ingot_status settle_report(const ir_graph *g, const pass_options *opt) {
  quant_options *q = opt ? opt->int8 : NULL;
  if (!q || !q->report) return NULL;
  quant_report *r = q->report;
  for (int i = 0; i < r->n; i++) {
    quant_layer *l = &r->rows[i];
    if (!l->int8 || !*l->node) continue;
    for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
      const ir_node *n = &g->nodes[nid];
      if (strcmp(n->name, l->node) != 0) continue;
      bool still_float = float_compute(n->op);
      if (!still_float && n->n_in && n->in[0] &&
          (n->op == IR_OP_MAX_POOL || n->op == IR_OP_RESHAPE ||
           n->op == IR_OP_FLATTEN || n->op == IR_OP_TRANSPOSE ||
           n->op == IR_OP_SQUEEZE || n->op == IR_OP_UNSQUEEZE ||
           n->op == IR_OP_SLICE || n->op == IR_OP_SPLIT ||
           n->op == IR_OP_RELU))
        still_float = g->tensors[n->in[0]].dtype == IR_F32;
      if (still_float) {
        l->int8 = false;
        snprintf(l->why, sizeof l->why,
                 "qdq-fold found no int8 pattern around it (see "
                 "docs/int8.md); runs in float between DQ and Q");
      }
      break;
    }
  }
  if (opt->log) quant_report_print(r, opt->log);
  if (!q->strict) return NULL;
  for (int i = 0; i < r->n; i++) {
    const quant_layer *l = &r->rows[i];
    if (l->req_int8 && !l->int8 && (l->has_int8 || l->explicit_req))
      return ingot_make_status(INGOT_FAILED_PRECONDITION,
                               "--strict-precision: layer '%s' (%s) was "
                               "requested int8 but would run in fp32: %s",
                               l->node, l->op, l->why);
  }
  return NULL;
}

ingot_status pass_qdq_fold(ir_graph *g, const pass_options *opt) {
  fold_ctx c = {.g = g};
  c.dead = calloc(g->n_nodes + 1, sizeof *c.dead);
  ingot_status s = c.dead ? count_uses(&c) : oom();
  uint32_t n_nodes = g->n_nodes;
  for (ir_node_id nid = 1; !s && nid < n_nodes; nid++) {
    if (c.dead[nid]) continue;
    switch (g->nodes[nid].op) {
    case IR_OP_CONV:
      s = fold_conv(&c, nid);
      break;
    case IR_OP_MATMUL:
    case IR_OP_GEMM:
      s = fold_product(&c, nid);
      break;
    case IR_OP_ADD:
    case IR_OP_MUL:
    case IR_OP_GLOBAL_AVERAGE_POOL:
    case IR_OP_AVERAGE_POOL:
    case IR_OP_SIGMOID:
    case IR_OP_LEAKY_RELU:
      s = fold_simple(&c, nid);
      break;
    case IR_OP_CONCAT:
      s = fold_concat(&c, nid);
      break;
    case IR_OP_MAX_POOL:
    case IR_OP_RELU:
    case IR_OP_RESHAPE:
    case IR_OP_FLATTEN:
    case IR_OP_TRANSPOSE:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_SLICE:
    case IR_OP_SPLIT:
      s = fold_passthrough(&c, nid);
      break;
    default:
      break;
    }
    /* Consumers changed: the next pattern must see the new graph. */
    if (!s) s = count_uses(&c);
  }
  if (!s) {
    c.n_dqq = drop_dq_q(&c);
    if (c.n_dqq < 0) s = oom();
  }
  int n_const = 0;
  if (!s) {
    s = sweep(&c);
    if (!s) s = fold_const_dq(g, &n_const);
  }
  if (!s && n_const) {
    bool *dead = realloc(c.dead, (g->n_nodes + 1) * sizeof *dead);
    if (!dead) s = oom();
    else {
      c.dead = dead;
      memset(c.dead, 0, (g->n_nodes + 1) * sizeof *c.dead);
      for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
        c.dead[nid] = g->nodes[nid].n_out == 0;
      s = sweep(&c);
    }
  }
  if (!s) s = ir_infer_shapes(g);
  if (!s && opt && opt->log) {
    int total = 0;
    for (int i = 0; i < IR_OP_COUNT; i++) total += c.n_fold[i];
    fprintf(opt->log,
            "qdq-fold: %d QDQ pattern(s) became int8 ops (Conv %d, MatMul %d, "
            "Gemm %d, Add %d, Mul %d, Concat %d, pools %d, Sigmoid/LeakyRelu "
            "%d, data movement %d); %d activation clamp(s) kept as Max/Min; "
            "%d DQ→Q pair(s) removed; %d constant DQ(s) computed\n",
            total, c.n_fold[IR_OP_CONV], c.n_fold[IR_OP_MATMUL],
            c.n_fold[IR_OP_GEMM], c.n_fold[IR_OP_ADD], c.n_fold[IR_OP_MUL],
            c.n_fold[IR_OP_CONCAT],
            c.n_fold[IR_OP_GLOBAL_AVERAGE_POOL] + c.n_fold[IR_OP_AVERAGE_POOL],
            c.n_fold[IR_OP_SIGMOID] + c.n_fold[IR_OP_LEAKY_RELU],
            c.n_fold[IR_OP_RESHAPE], c.n_act_kept, c.n_dqq, n_const);
  }
  if (!s) s = settle_report(g, opt);
  free(c.uses);
  free(c.consumer);
  free(c.dead);
  return s;
}
