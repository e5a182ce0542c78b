/* quantize.c — calibrated fp32 graph → QDQ graph (DESIGN.md §4 "quantize").
 *
 * Requires: static shapes; with --int8, a calibration table for this graph
 * (the calibrate pass right before fills it, so tensor ids agree).
 * Provides: the QDQ graph ONNX Runtime's quantize_static writes, which
 * qdq-fold then turns into int8 ops (docs/int8.md):
 *  - weights of Conv (axis 0), MatMul and Gemm B (per output column) become
 *    DequantizeLinear(int8 constant), symmetric, per channel: s = max|w|/127,
 *    q = clamp(rne(w / s), −127, 127);
 *  - activations get one QuantizeLinear → DequantizeLinear pair per tensor,
 *    per tensor: uint8 asymmetric over [min(lo,0), max(hi,0)] (s = range/255,
 *    zp = rne(−lo/s)) or, with --act-scheme s8, int8 symmetric
 *    (s = max(|lo|,|hi|)/127, zp = 0).  Every reader of the tensor reads
 *    the dequantised value, so the QDQ graph is the fake-quant model;
 *  - a Relu or Clip that is the only reader of a Conv/MatMul/Gemm output is
 *    quantised after the activation (its range starts at 0), so qdq-fold
 *    folds it into the product's output range;
 *  - scale propagation: MaxPool, Relu, Reshape, Flatten, Transpose,
 *    Squeeze, Unsqueeze, Slice and Split on an int8 tensor output the same
 *    scale and zero point (they move or select codes); Add, Mul and Concat
 *    keep each input's own parameters and get one output scale, so the
 *    int8 op requantises exactly the inputs whose scale differs;
 *  - bias stays float (qdq-fold makes it int32 with scale s_x·s_w);
 *  - ops with no int8 form, layers --layer-precision NAME=fp32 names,
 *    layers whose inputs have no calibration range, and an Add, Mul or
 *    Concat whose only reader has no int8 form (attention's mask Add
 *    before Softmax, a residual Add before LayerNormalization) stay float.
 * Each decision is a row of the per-layer table (quantize.h): requested,
 * chosen, why.  qdq-fold confirms or corrects "chosen" after matching.
 *
 * The calibrate pass (also here) only calls quant_options.collect, so this
 * library does not depend on how the ranges are measured.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "params.h"
#include "passes.h"
#include "quantize.h"

typedef enum qclass {
  QC_NONE,    /* no int8 form */
  QC_PRODUCT, /* Conv, MatMul, Gemm: weights per channel */
  QC_MULTI,   /* Add, Mul, Concat: every input an activation */
  QC_UNARY,   /* GlobalAveragePool, AveragePool, Sigmoid, LeakyRelu */
  QC_PASS,    /* moves codes: same parameters out as in */
} qclass;

static qclass classify(ir_op op) {
  switch (op) {
  case IR_OP_CONV:
  case IR_OP_MATMUL:
  case IR_OP_GEMM:
    return QC_PRODUCT;
  case IR_OP_ADD:
  case IR_OP_MUL:
  case IR_OP_CONCAT:
    return QC_MULTI;
  case IR_OP_GLOBAL_AVERAGE_POOL:
  case IR_OP_AVERAGE_POOL:
  case IR_OP_SIGMOID:
  case IR_OP_LEAKY_RELU:
    return QC_UNARY;
  case IR_OP_MAX_POOL:
  case IR_OP_RELU:
  case IR_OP_RESHAPE:
  case IR_OP_FLATTEN:
  case IR_OP_TRANSPOSE:
  case IR_OP_SQUEEZE:
  case IR_OP_UNSQUEEZE:
  case IR_OP_SLICE:
  case IR_OP_SPLIT:
    return QC_PASS;
  default:
    return QC_NONE;
  }
}

bool quant_has_int8_form(ir_op op) {
  qclass c = classify(op);
  return c != QC_NONE && c != QC_PASS;
}

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/*===------------------------------------------------------------------===*/
/* The per-layer table                                                     */
/*===------------------------------------------------------------------===*/

void quant_report_free(quant_report *r) {
  if (!r) return;
  free(r->rows);
  free(r->search);
  memset(r, 0, sizeof *r);
}

static quant_layer *report_add(quant_report *r, const ir_node *n) {
  if (!r) return NULL;
  if (r->n == r->cap) {
    int cap = r->cap ? r->cap * 2 : 64;
    quant_layer *rows = realloc(r->rows, (size_t)cap * sizeof *rows);
    if (!rows) return NULL;
    r->rows = rows;
    r->cap = cap;
  }
  quant_layer *l = &r->rows[r->n++];
  memset(l, 0, sizeof *l);
  l->node = n->name;
  l->op = ir_op_get(n->op)->name;
  return l;
}

void quant_report_print(const quant_report *r, FILE *f) {
  if (!r || !f) return;
  int w = 4;
  for (int i = 0; i < r->n; i++) {
    int len = (int)strlen(r->rows[i].node);
    if (len > w) w = len;
  }
  if (w > 40) w = 40;
  fprintf(f, "per-layer precision (%d layers):\n", r->n);
  fprintf(f, "  %-*s %-20s %-9s %-6s %s\n", w, "node", "op", "requested",
          "chosen", "why");
  for (int i = 0; i < r->n; i++) {
    const quant_layer *l = &r->rows[i];
    fprintf(f, "  %-*s %-20s %-9s %-6s %s\n", w, *l->node ? l->node : "-",
            l->op, quant_layer_requested(l), quant_layer_chosen(l), l->why);
  }
}

ingot_status quant_parse_override(const char *s, quant_override *out) {
  const char *eq = strrchr(s, '=');
  if (!eq || eq == s ||
      (strcmp(eq + 1, "fp32") && strcmp(eq + 1, "int8") &&
       strcmp(eq + 1, "bf16")))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "--layer-precision %s: write NAME=fp32, "
                             "NAME=int8 or NAME=bf16",
                             s);
  out->node = s;
  out->len = (size_t)(eq - s);
  out->prec = !strcmp(eq + 1, "int8")   ? QUANT_P_INT8
              : !strcmp(eq + 1, "bf16") ? QUANT_P_BF16
                                        : QUANT_P_FP32;
  out->int8 = out->prec == QUANT_P_INT8;
  return NULL;
}

const char *quant_layer_chosen(const quant_layer *l) {
  return l->int8 ? "int8" : l->bf16 ? "bf16" : "fp32";
}

bool quant_has_bf16_form(const ir_graph *g, const ir_node *n,
                         const char **why) {
  *why = NULL;
  bool conv = n->op == IR_OP_CONV;
  if (n->op != IR_OP_MATMUL && n->op != IR_OP_GEMM && !conv) {
    *why = "the engine has bf16 kernels for Conv, MatMul and Gemm only";
    return false;
  }
  const ir_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
  if (a->dtype != IR_F32 || b->dtype != IR_F32) {
    *why = "its operands are not float32";
    return false;
  }
  if (conv) { /* codegen/lower_bf16.c: im2col rows x packed weights */
    const ir_p_conv *p = n->params;
    if (!p || a->shape.rank != 4 || b->shape.rank != 4) {
      *why = "the bf16 Conv kernel takes 2-D convolutions (NCHW, run NHWC)";
      return false;
    }
    if (b->role != IR_ROLE_CONSTANT || !b->data) {
      *why = "the bf16 Conv kernel needs constant weights, converted at "
             "build time";
      return false;
    }
    if (p->group > 1 && b->shape.dims[1] == 1) {
      *why = "depthwise: one input channel per group leaves only the taps "
             "to sum, too short for the bf16 dot products (the float32 "
             "depthwise template is memory-bound)";
      return false;
    }
    return true;
  }
  /* A constant 2-D B is packed at build time; any other B (attention's
   * activation x activation products) is rounded and packed at run
   * time. */
  if (b->role == IR_ROLE_CONSTANT && b->data && b->shape.rank == 2)
    return true;
  if (a->shape.rank < 2 || b->shape.rank < 2) {
    *why = "the bf16 kernel needs matrices (a 1-D operand with an "
           "activation B)";
    return false;
  }
  return true;
}

const char *quant_layer_requested(const quant_layer *l) {
  return l->req_bf16 ? "bf16" : l->req_int8 ? "int8" : "fp32";
}

/* Does override |o| (a name or a glob) name node |name|? */
static bool override_matches(const quant_override *o, const char *name) {
  char pat[512];
  snprintf(pat, sizeof pat, "%.*s", (int)o->len, o->node);
  if (strlen(name) == o->len && !memcmp(name, o->node, o->len)) return true;
  return strpbrk(pat, "*?[") && fnmatch(pat, name, 0) == 0;
}

/* The last override that names |name| (later flags win). */
static const quant_override *find_override(const quant_options *q,
                                           const char *name) {
  const quant_override *hit = NULL;
  for (int i = 0; i < q->n_overrides; i++)
    if (override_matches(&q->overrides[i], name)) hit = &q->overrides[i];
  return hit;
}

/* Edit distance (Levenshtein) of |a| and |b|, capped at 99. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      d[i][j] = c;
    }
  return d[la][lb];
}

/* Every --layer-precision NAME must name at least one node of the model
 * (a BatchNormalization folded into its Conv counts: it is named in the
 * Conv's fused list).  Otherwise: an error with up to 5 close names. */
static ingot_status check_overrides(const ir_graph *g, const quant_options *q) {
  for (int i = 0; i < q->n_overrides; i++) {
    const quant_override *o = &q->overrides[i];
    bool found = false;
    for (ir_node_id nid = 1; nid < g->n_nodes && !found; nid++) {
      const ir_node *n = &g->nodes[nid];
      found = override_matches(o, n->name);
      for (const char *f = n->fused; !found && f && *f;) {
        size_t len = strcspn(f, "\n");
        const char *sp = f;
        for (int k = 0; k < 2 && sp; k++) { /* "PASS OP NAME" */
          sp = memchr(sp, ' ', (size_t)(f + len - sp));
          if (sp) sp++;
        }
        if (sp) {
          char nm[256];
          snprintf(nm, sizeof nm, "%.*s", (int)(f + len - sp), sp);
          found = override_matches(o, nm);
        }
        f += len + (f[len] == '\n');
      }
    }
    if (found) continue;
    char want[256], close[600] = "";
    snprintf(want, sizeof want, "%.*s", (int)o->len, o->node);
    /* The 5 nearest names by edit distance, within a third of the name's
     * length (at least 2), or containing it / contained in it. */
    int tol = (int)strlen(want) / 3 > 2 ? (int)strlen(want) / 3 : 2;
    ir_node_id best[5];
    int best_d[5], n_close = 0;
    for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
      const char *nm = g->nodes[nid].name;
      if (!*nm) continue;
      int dist = edit_distance(nm, want);
      if (dist > tol && !strstr(nm, want) && !strstr(want, nm)) continue;
      bool dup = false;
      for (int k = 0; k < n_close && !dup; k++)
        dup = !strcmp(g->nodes[best[k]].name, nm);
      if (dup) continue;
      int at = n_close < 5 ? n_close++ : 5;
      while (at > 0 && best_d[at - 1] > dist) {
        if (at < 5) {
          best[at] = best[at - 1];
          best_d[at] = best_d[at - 1];
        }
        at--;
      }
      if (at < 5) {
        best[at] = nid;
        best_d[at] = dist;
      }
    }
    for (int k = 0; k < n_close; k++) {
      size_t used = strlen(close);
      snprintf(close + used, sizeof close - used, "%s'%s'", k ? ", " : "",
               g->nodes[best[k]].name);
    }
    return ingot_make_status(
        INGOT_INVALID_ARGUMENT,
        "--layer-precision %s: the model has no node named '%s'%s%s%s",
        o->node, want, n_close ? " (close: " : "", close,
        n_close ? ")" : " (ingot inspect MODEL lists the node names)");
  }
  return NULL;
}

/*===------------------------------------------------------------------===*/
/* Scales                                                                  */
/*===------------------------------------------------------------------===*/

typedef struct tparams {
  bool set;
  bool qdq;      /* a Q/DQ pair goes on this tensor */
  float scale;
  int32_t zp;
  ir_dtype type;
} tparams;

/* Activation parameters from a calibrated range. */
static void act_params(const calib_range *r, quant_act_scheme scheme,
                       tparams *p) {
  float lo = r->lo < 0 ? r->lo : 0, hi = r->hi > 0 ? r->hi : 0;
  p->set = true;
  if (scheme == QUANT_ACT_S8) {
    float a = -lo > hi ? -lo : hi;
    p->scale = a / 127.0f;
    p->zp = 0;
    p->type = IR_I8;
  } else {
    p->scale = (hi - lo) / 255.0f;
    p->type = IR_U8;
  }
  if (!(p->scale > 0) || !isfinite(p->scale)) p->scale = 1.0f;
  if (scheme != QUANT_ACT_S8) {
    float z = nearbyintf(-lo / p->scale);
    p->zp = z < 0 ? 0 : z > 255 ? 255 : (int32_t)z;
  }
}

static bool is_const(const ir_graph *g, ir_tensor_id t) {
  return t && g->tensors[t].role == IR_ROLE_CONSTANT;
}

/*===------------------------------------------------------------------===*/
/* Graph edits                                                             */
/*===------------------------------------------------------------------===*/

static ingot_status add_scalar(ir_graph *g, const char *hint, ir_dtype dt,
                               double v, ir_tensor_id *out) {
  uint8_t buf[8] = {0};
  ir_store_f64(dt, buf, 0, v);
  ir_value val = {.dtype = dt, .data = buf, .borrowed = true};
  return ir_graph_add_constant(g, NULL, hint, &val, out);
}

static ingot_status set_axis_attr(ir_graph *g, ir_node_id nid, int axis) {
  ir_attr *a = ir_arena_calloc(&g->arena, 1, sizeof *a);
  if (!a) return oom();
  a->name = "axis";
  a->kind = IR_ATTR_INT;
  a->i = axis;
  g->nodes[nid].attrs = a;
  g->nodes[nid].n_attrs = 1;
  return NULL;
}

static ingot_status insert_op(ir_graph *g, ir_node_id pos, ir_op op,
                              const char *name, const ir_tensor_id *in,
                              int n_in, ir_tensor_id out, int axis) {
  ir_node_id id;
  INGOT_RETURN_IF_ERROR(
      ir_graph_insert_node(g, pos, op, name, in, n_in, &out, 1, &id));
  if (axis >= 0) INGOT_RETURN_IF_ERROR(set_axis_attr(g, id, axis));
  return ir_op_get(op)->parse(g, id);
}

/* A fresh tensor named |base|+|suffix| (made unique). */
static ingot_status new_tensor(ir_graph *g, const char *base,
                               const char *suffix, ir_tensor_id *out) {
  char name[512];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  for (int k = 2; ir_graph_find_tensor(g, name); k++)
    snprintf(name, sizeof name, "%s%s%d", base, suffix, k);
  return ir_graph_add_tensor(g, name, out);
}

/* Weight |w| (float constant) → DQ(int8 per-channel along |axis|); returns
 * the DQ's output tensor (the node is inserted by the caller later:
 * |pending| records its inputs). */
typedef struct pending_dq {
  ir_tensor_id in[3], out;
  int axis;
  const char *name;
} pending_dq;

static ingot_status quantize_weight(ir_graph *g, ir_tensor_id w, int axis,
                                    pending_dq *pd) {
  const ir_tensor *t = &g->tensors[w];
  ir_shape shape = t->shape;
  const float *x = t->data;
  int64_t ch = shape.dims[axis];
  size_t total = ir_shape_numel(&shape), inner = 1;
  for (int d = axis + 1; d < shape.rank; d++) inner *= (size_t)shape.dims[d];
  float *sc = calloc((size_t)ch, sizeof *sc);
  int8_t *q = malloc(total ? total : 1);
  int8_t *zp = calloc((size_t)ch, 1);
  ingot_status s = (!sc || !q || !zp) ? oom() : NULL;
  for (size_t i = 0; !s && i < total; i++) {
    size_t c = (i / inner) % (size_t)ch;
    float a = fabsf(x[i]);
    if (a > sc[c]) sc[c] = a;
  }
  for (int64_t c = 0; !s && c < ch; c++) {
    sc[c] = sc[c] / 127.0f;
    if (!(sc[c] > 0) || !isfinite(sc[c])) sc[c] = 1.0f;
  }
  for (size_t i = 0; !s && i < total; i++) {
    size_t c = (i / inner) % (size_t)ch;
    float v = nearbyintf(x[i] / sc[c]);
    q[i] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : isnan(v) ? 0 : v);
  }
  const char *base = t->name;
  if (!s) {
    ir_value qv = {.dtype = IR_I8, .shape = shape, .data = q, .borrowed = true};
    char hint[300];
    snprintf(hint, sizeof hint, "%s_quantized", base);
    s = ir_graph_add_constant(g, NULL, hint, &qv, &pd->in[0]);
  }
  ir_value sv = {.dtype = IR_F32, .data = sc, .borrowed = true};
  sv.shape.rank = 1;
  sv.shape.dims[0] = ch;
  ir_value zv = sv;
  zv.dtype = IR_I8;
  zv.data = zp;
  if (!s) s = ir_graph_add_constant(g, NULL, "w_scale", &sv, &pd->in[1]);
  if (!s) s = ir_graph_add_constant(g, NULL, "w_zero_point", &zv, &pd->in[2]);
  base = g->tensors[w].name; /* the array may have moved */
  if (!s) s = new_tensor(g, base, "_dequantized", &pd->out);
  pd->axis = axis;
  pd->name = g->tensors[w].name;
  free(sc);
  free(q);
  free(zp);
  return s;
}

/* Inserts Q → DQ on activation |t| with |p|: the producer writes a new
 * tensor, the DQ writes |t| (every reader, graph outputs included, reads
 * the dequantised value).  A graph input keeps its name; its readers are
 * redirected to the DQ's output. */
static ingot_status insert_qdq(ir_graph *g, ir_tensor_id t, const tparams *p) {
  ir_tensor_id sc, zp, qt, src, dst;
  INGOT_RETURN_IF_ERROR(add_scalar(g, "act_scale", IR_F32, p->scale, &sc));
  INGOT_RETURN_IF_ERROR(add_scalar(g, "act_zero_point", p->type, p->zp, &zp));
  char base[400];
  snprintf(base, sizeof base, "%s", g->tensors[t].name);
  INGOT_RETURN_IF_ERROR(new_tensor(g, base, "_quantized", &qt));
  ir_node_id prod = g->tensors[t].producer;
  ir_node_id pos;
  if (prod) {
    INGOT_RETURN_IF_ERROR(new_tensor(g, base, "_float", &src));
    ir_node *pn = &g->nodes[prod];
    for (int k = 0; k < pn->n_out; k++)
      if (pn->out[k] == t) pn->out[k] = src;
    g->tensors[src].producer = prod;
    dst = t;
    pos = prod + 1;
  } else {
    src = t;
    INGOT_RETURN_IF_ERROR(new_tensor(g, base, "_dequantized", &dst));
    for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
      ir_node *n = &g->nodes[nid];
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k] == t) n->in[k] = dst;
    }
    pos = 1;
  }
  char name[450];
  snprintf(name, sizeof name, "%s_QuantizeLinear", base);
  ir_tensor_id qin[3] = {src, sc, zp};
  INGOT_RETURN_IF_ERROR(
      insert_op(g, pos, IR_OP_QUANTIZE_LINEAR, name, qin, 3, qt, -1));
  snprintf(name, sizeof name, "%s_DequantizeLinear", base);
  ir_tensor_id din[3] = {qt, sc, zp};
  return insert_op(g, pos + 1, IR_OP_DEQUANTIZE_LINEAR, name, din, 3, dst,
                   -1);
}

/*===------------------------------------------------------------------===*/
/* Decisions                                                               */
/*===------------------------------------------------------------------===*/

typedef struct qstate {
  ir_graph *g;
  const quant_options *q;
  tparams *tp;       /* [tensor id at entry] */
  uint32_t n_tensors; /* at entry */
  uint32_t *uses;
  ir_node_id *reader; /* the last reader of a tensor */
} qstate;

static const calib_range *range_of(const qstate *st, ir_tensor_id t) {
  const calib_table *tab = st->q->table;
  if (!tab || !tab->r || t >= tab->n || !tab->r[t].valid) return NULL;
  return &tab->r[t];
}

/* Gives activation |t| parameters from its range; false (why filled) when
 * it has none. */
static bool want_act(qstate *st, ir_tensor_id t, char *why, size_t n) {
  if (st->tp[t].set) return true;
  const ir_tensor *ten = &st->g->tensors[t];
  if (ten->dtype != IR_F32) {
    snprintf(why, n, "input '%s' is %s, not float32", ten->name,
             ir_dtype_name(ten->dtype));
    return false;
  }
  const calib_range *r = range_of(st, t);
  if (!r) {
    snprintf(why, n, "tensor '%s' has no calibration range", ten->name);
    return false;
  }
  return true;
}

static void set_act(qstate *st, ir_tensor_id t) {
  if (st->tp[t].set) {
    st->tp[t].qdq = true;
    return;
  }
  act_params(range_of(st, t), st->q->act, &st->tp[t]);
  st->tp[t].qdq = true;
}

/* The Relu/Clip (constant bounds) that alone reads |t|, or 0.  Not one
 * that --layer-precision names for fp32 or bf16: folded into an int8
 * product it would run int8 whatever was asked, so it keeps its own row
 * (and --strict-precision judges the request). */
static ir_node_id act_after(const qstate *st, ir_tensor_id t) {
  const ir_graph *g = st->g;
  if (st->uses[t] != 1 || g->tensors[t].is_output) return 0;
  ir_node_id r = st->reader[t];
  const ir_node *n = &g->nodes[r];
  const quant_override *ov = find_override(st->q, n->name);
  if (ov && !ov->int8) return 0;
  if (n->op == IR_OP_RELU) return r;
  if (n->op != IR_OP_CLIP) return 0;
  for (int k = 1; k < n->n_in; k++)
    if (n->in[k] && !is_const(g, n->in[k])) return 0;
  return r;
}

/* The only reader of |t| when that reader has no int8 form (Softmax,
 * LayerNormalization, ...) and |t| is no graph output; else NULL. */
static const ir_node *only_float_reader(const qstate *st, ir_tensor_id t) {
  const ir_graph *g = st->g;
  if (!t || st->uses[t] != 1 || g->tensors[t].is_output) return NULL;
  const ir_node *r = &g->nodes[st->reader[t]];
  return classify(r->op) == QC_NONE ? r : NULL;
}

/* Decides one node; fills its row. */
static ingot_status decide(qstate *st, ir_node_id nid, quant_layer *row,
                           pending_dq *pdq, int *n_pdq, bool *skip_act) {
  ir_graph *g = st->g;
  const ir_node *n = &g->nodes[nid];
  qclass cls = classify(n->op);
  char why[200] = "";
  const quant_override *ov = find_override(st->q, n->name);
  /* An Add, Mul or Concat whose only reader runs in float gains nothing
   * from int8: the reader dequantises it at once.  It would only round
   * its inputs and its sum: attention's mask Add before Softmax (the
   * mask's sentinel values, -10000 to the float minimum, take the whole
   * int8 range, so every real score rounds to one code) and a
   * transformer's residual Add before LayerNormalization (the residual
   * stream's outlier channels).  Such a layer is requested fp32 (so
   * --strict-precision does not object) unless --layer-precision names
   * it; the planner then fuses a mask Add into the Softmax. */
  const ir_node *fr =
      !ov && cls == QC_MULTI ? only_float_reader(st, n->out[0]) : NULL;
  bool req = ov ? ov->int8 : cls != QC_NONE && !fr;
  int mask = st->q->mask && nid < st->q->n_mask ? st->q->mask[nid] : -1;
  if (row) {
    row->req_int8 = req;
    row->req_bf16 = ov && ov->prec == QUANT_P_BF16;
    row->explicit_req = ov != NULL;
    /* Data movement has no int8 form of its own: it follows its input. */
    row->has_int8 = cls != QC_NONE && cls != QC_PASS;
  }
#define DECLINE(...)                                          \
  do {                                                       \
    if (row) snprintf(row->why, sizeof row->why, __VA_ARGS__); \
    return NULL;                                             \
  } while (0)
  if (ov && ov->prec == QUANT_P_BF16) {
    const char *no = NULL;
    if (!st->q->target_bf16)
      no = "the target CPU has neither AVX512-BF16 nor AMX-BF16";
    else if (quant_has_bf16_form(g, n, &no)) {
      g->nodes[nid].compute = IR_BF16; /* lower_bf16.c, ir/ref/matmul.c */
      if (row) row->bf16 = true;
      DECLINE("--layer-precision %s=bf16 (bf16 operands, fp32 "
              "accumulation)", n->name);
    }
    DECLINE("bf16 requested: %s; runs in fp32", no);
  }
  if (cls == QC_NONE) DECLINE("%s has no int8 form", ir_op_get(n->op)->name);
  if (fr)
    DECLINE("its only reader, %s '%s', runs in float", ir_op_get(fr->op)->name,
            fr->name);
  if (!req) DECLINE("--layer-precision %s=fp32", n->name);
  if (mask == 2 && cls != QC_PASS) { /* the search's bf16 fallback */
    const char *no = NULL;
    if (st->q->target_bf16 && quant_has_bf16_form(g, n, &no)) {
      g->nodes[nid].compute = IR_BF16;
      if (row) row->bf16 = true;
    }
    mask = 0;
  }
  if (mask == 0 && cls != QC_PASS)
    DECLINE("%s", st->q->mask_why && st->q->mask_why[nid]
                      ? st->q->mask_why[nid]
                      : "kept fp32 by the accuracy search");
  if (cls == QC_PASS) {
    ir_tensor_id x = n->in[0];
    if (!x || x >= st->n_tensors || !st->tp[x].set)
      DECLINE("its input is float (moves data in the input's precision)");
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k]) {
        st->tp[n->out[k]] = st->tp[x];
        st->tp[n->out[k]].qdq = true;
      }
    if (row) {
      row->int8 = true;
      snprintf(row->why, sizeof row->why,
               "moves int8 codes; keeps its input's scale and zero point");
    }
    return NULL;
  }
  /* Activation inputs and (products) constant weights. */
  int w_idx = -1, w_axis = 0;
  if (cls == QC_PRODUCT) {
    ir_tensor_id w = n->in[1];
    const ir_tensor *wt = &g->tensors[w];
    if (n->op == IR_OP_GEMM) {
      const ir_p_gemm *p = n->params;
      if (p->trans_a || p->alpha != 1.0f ||
          (n->n_in > 2 && n->in[2] && p->beta != 1.0f))
        DECLINE("Gemm with transA, alpha or beta other than 0, 1, 1");
    }
    bool wconst = is_const(g, w) && wt->dtype == IR_F32;
    if (n->op == IR_OP_CONV && !wconst)
      DECLINE("its weights are not a float constant");
    if (n->op == IR_OP_GEMM && !wconst)
      DECLINE("its B is not a float constant");
    if (n->n_in > 2 && n->in[2] && !is_const(g, n->in[2]))
      DECLINE("its bias is not a constant");
    if (wconst) {
      w_idx = 1;
      if (n->op == IR_OP_CONV)
        w_axis = 0;
      else if (n->op == IR_OP_GEMM)
        w_axis = ((const ir_p_gemm *)n->params)->trans_b ? 0 : 1;
      else if (wt->shape.rank == 2)
        w_axis = 1;
      else
        DECLINE("MatMul with a constant B of rank %d (int8 needs 2-D)",
                wt->shape.rank);
    }
  }
  for (int k = 0; k < n->n_in; k++) {
    ir_tensor_id t = n->in[k];
    if (!t || k == w_idx || (cls == QC_PRODUCT && k == 2)) continue;
    if (is_const(g, t)) DECLINE("input %d is a constant", k);
    if (!want_act(st, t, why, sizeof why)) DECLINE("%s", why);
  }
  /* Output (after a Relu/Clip that alone reads a product's output). */
  ir_tensor_id y = n->out[0];
  ir_node_id act = cls == QC_PRODUCT ? act_after(st, y) : 0;
  ir_tensor_id yq = act ? g->nodes[act].out[0] : y;
  if (!want_act(st, yq, why, sizeof why)) DECLINE("%s", why);
  /* Commit. */
  for (int k = 0; k < n->n_in; k++) {
    ir_tensor_id t = n->in[k];
    if (!t || k == w_idx || (cls == QC_PRODUCT && k == 2)) continue;
    set_act(st, t);
  }
  set_act(st, yq);
  if (w_idx >= 0) {
    INGOT_RETURN_IF_ERROR(
        quantize_weight(g, n->in[w_idx], w_axis, &pdq[*n_pdq]));
    g->nodes[nid].in[w_idx] = pdq[*n_pdq].out;
    (*n_pdq)++;
  }
  if (act) *skip_act = true;
  if (row) {
    row->int8 = true;
    if (act)
      snprintf(row->why, sizeof row->why,
               "calibrated; %s '%s' folded into its output range",
               ir_op_get(g->nodes[act].op)->name, g->nodes[act].name);
    else
      snprintf(row->why, sizeof row->why, "calibrated");
  }
  return NULL;
#undef DECLINE
}

/*===------------------------------------------------------------------===*/
/* The passes                                                              */
/*===------------------------------------------------------------------===*/

static bool has_explicit_quant(const ir_graph *g) {
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    if (ir_op_get(g->nodes[nid].op)->flags & IR_OPF_QUANT) return true;
  return false;
}

ingot_status pass_calibrate(ir_graph *g, const pass_options *opt) {
  quant_options *q = opt ? opt->int8 : NULL;
  if (!q || !q->int8 || !q->calib || !q->table || q->table->r) return NULL;
  if (has_explicit_quant(g)) {
    if (opt->log)
      fprintf(opt->log, "calibrate: skipped: the model is already quantised "
                        "(QDQ or QLinear nodes); its own scales are used\n");
    return NULL;
  }
  if (!q->collect)
    return ingot_make_status(INGOT_INTERNAL,
                             "calibrate: no calibration function");
  if (q->target.kind == QUANT_TARGET_NONE && !q->sensitivity_report)
    return q->collect(g, q->calib, q->table);
  /* The accuracy search holds the last quarter of the feeds out: ranges
   * come from the rest, the target is checked on them (docs/accuracy.md). */
  ir_dataset *ds = NULL;
  INGOT_RETURN_IF_ERROR(ir_dataset_open(g, q->calib->data,
                                        q->calib->preprocess, NULL, &ds));
  size_t n = ir_dataset_count(ds);
  ir_dataset_close(ds);
  if (q->calib->max_samples > 0 && (size_t)q->calib->max_samples < n)
    n = (size_t)q->calib->max_samples;
  if (n < 2)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: --accuracy-target and --sensitivity-report "
                             "need at least 2 calibration samples (%zu "
                             "found): a quarter is held out",
                             q->calib->data, n);
  q->n_heldout = n / 4 ? n / 4 : 1;
  q->n_calib = n - q->n_heldout;
  calib_options co = *q->calib;
  co.max_samples = (int)q->n_calib;
  if (opt->log)
    fprintf(opt->log, "calibrate: %zu feed(s) for ranges and sensitivity, "
            "the last %zu held out to check the accuracy target\n",
            q->n_calib, q->n_heldout);
  return q->collect(g, &co, q->table);
}

ingot_status pass_quantize(ir_graph *g, const pass_options *opt) {
  quant_options *q = opt ? opt->int8 : NULL;
  if (!q || !q->int8) return NULL;
  if (has_explicit_quant(g) &&
      (q->target.kind != QUANT_TARGET_NONE || q->sensitivity_report))
    return ingot_make_status(
        INGOT_INVALID_ARGUMENT,
        "--accuracy-target and --sensitivity-report need a float model: "
        "this one is already quantised (QuantizeLinear/DequantizeLinear or "
        "QLinear nodes), so its layers' int8 forms are its own");
  if (!q->table || !q->table->r || has_explicit_quant(g)) {
    if (has_explicit_quant(g)) {
      /* Already quantised: its own scales win over any calibration. */
      if (opt->log)
        fprintf(opt->log,
                "quantize: the model has QuantizeLinear/DequantizeLinear or "
                "QLinear nodes; their scales are used (explicit "
                "quantisation)\n");
      return NULL;
    }
    return ingot_make_status(
        INGOT_INVALID_ARGUMENT,
        "--int8 needs calibration data (--calib DATA): the model has no "
        "QuantizeLinear/DequantizeLinear or QLinear nodes to take scales "
        "from");
  }
  if (q->table->n != g->n_tensors)
    return ingot_make_status(INGOT_INTERNAL,
                             "quantize: the calibration table has %u "
                             "tensors, the graph %u",
                             q->table->n, g->n_tensors);
  INGOT_RETURN_IF_ERROR(check_overrides(g, q));
  if (!q->mask && (q->target.kind != QUANT_TARGET_NONE ||
                   q->sensitivity_report))
    INGOT_RETURN_IF_ERROR(quant_search(g, q, opt->log));
  qstate st = {.g = g, .q = q, .n_tensors = g->n_tensors};
  st.tp = calloc(g->n_tensors, sizeof *st.tp);
  st.uses = calloc(g->n_tensors, sizeof *st.uses);
  st.reader = calloc(g->n_tensors, sizeof *st.reader);
  pending_dq *pdq = calloc(g->n_nodes + 1, sizeof *pdq);
  bool *skip = calloc(g->n_nodes + 1, sizeof *skip);
  ingot_status s = (!st.tp || !st.uses || !st.reader || !pdq || !skip)
                       ? oom()
                       : NULL;
  for (uint32_t i = 0; !s && i < g->n_outputs; i++) st.uses[g->outputs[i]]++;
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++)
    for (int k = 0; k < g->nodes[nid].n_in; k++)
      if (g->nodes[nid].in[k]) {
        st.uses[g->nodes[nid].in[k]]++;
        st.reader[g->nodes[nid].in[k]] = nid;
      }
  int n_pdq = 0, n_int8 = 0, n_layers = 0;
  uint32_t n_nodes = g->n_nodes;
  for (ir_node_id nid = 1; !s && nid < n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    quant_layer *row = NULL;
    if (q->report) {
      row = report_add(q->report, n);
      if (!row) s = oom();
    }
    if (s) break;
    if (skip[nid]) {
      const ir_node *p = &g->nodes[g->tensors[n->in[0]].producer];
      if (row) {
        row->req_int8 = row->has_int8 = row->int8 = true;
        snprintf(row->why, sizeof row->why,
                 "folded into the output range of %s '%s'",
                 ir_op_get(p->op)->name, p->name);
      }
      continue;
    }
    bool skip_act = false;
    s = decide(&st, nid, row, pdq, &n_pdq, &skip_act);
    if (!s && skip_act) skip[st.reader[g->nodes[nid].out[0]]] = true;
    n_layers++;
    if (row && row->int8) n_int8++;
  }
  /* Weights: DQ nodes at the front (their outputs are already wired). */
  for (int i = 0; !s && i < n_pdq; i++) {
    char name[400];
    snprintf(name, sizeof name, "%s_DequantizeLinear", pdq[i].name);
    s = insert_op(g, 1, IR_OP_DEQUANTIZE_LINEAR, name, pdq[i].in, 3,
                  pdq[i].out, pdq[i].axis);
  }
  /* Activations, from the last producer back so positions stay valid. */
  int n_act = 0;
  if (!s) {
    ir_tensor_id *order = malloc(st.n_tensors * sizeof *order);
    if (!order) s = oom();
    int m = 0;
    for (ir_tensor_id t = 1; order && t < st.n_tensors; t++)
      if (st.tp[t].qdq) order[m++] = t;
    /* Insertion sort by producer, descending (graph inputs last). */
    for (int i = 1; order && i < m; i++) {
      ir_tensor_id t = order[i];
      int j = i;
      while (j > 0 && g->tensors[order[j - 1]].producer <
                          g->tensors[t].producer) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = t;
    }
    for (int i = 0; !s && i < m; i++) s = insert_qdq(g, order[i], &st.tp[order[i]]);
    n_act = m;
    free(order);
  }
  if (!s) s = ir_infer_shapes(g);
  for (int i = 0; !s && q->strict && q->report && i < q->report->n; i++) {
    const quant_layer *l = &q->report->rows[i];
    if (l->req_bf16 && !l->bf16)
      s = ingot_make_status(INGOT_FAILED_PRECONDITION,
                            "--strict-precision: layer '%s' (%s) was "
                            "requested bf16 but would run in fp32: %s",
                            l->node, l->op, l->why);
  }
  if (!s && opt->log)
    fprintf(opt->log,
            "quantize: %d of %d node(s) int8 (%s activations); %d weight "
            "tensor(s) int8 per channel; %d activation tensor(s) with "
            "QuantizeLinear/DequantizeLinear\n",
            n_int8, n_layers, q->act == QUANT_ACT_S8 ? "int8 symmetric"
                                                    : "uint8 asymmetric",
            n_pdq, n_act);
  free(st.tp);
  free(st.uses);
  free(st.reader);
  free(pdq);
  free(skip);
  return s;
}
