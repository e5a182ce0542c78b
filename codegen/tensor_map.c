/* tensor_map.c — the engine's TENSOR_MAP (engine_format.h, format 1.2):
 * which tensor of the model sits where in the arena, how, and from which
 * step on, so that `ingot compare --per-layer` (and any debugger using
 * ingot_session_read_tensor) can read intermediate values after a run.
 *
 * Every non-constant tensor the memory plan placed gets an entry, in plan
 * order: graph inputs first, then each node's outputs after the last step
 * the node lowered to.  A node that lowered to no step (none does today)
 * leaves its outputs out: nothing would write their bytes.
 *
 * Quantisation parameters.  In the QOperator form (docs/int8.md) a u8/s8
 * activation carries no parameters of its own: they are inputs of the
 * nodes around it.  cg_tensor_quant finds them, in this order:
 *   1. ir_tensor.quant, when an importer set it (XML IR FakeQuantize);
 *   2. the producer's output parameters (QuantizeLinear y_scale, QLinearConv
 *      y_scale, ...); through ops that keep the parameters (MaxPool, Relu,
 *      Reshape, layout casts, ...: docs/int8.md) the search goes on at
 *      their input;
 *   3. a consumer's input parameters (DequantizeLinear x_scale, QLinearConv
 *      x_scale, ...).
 * Only per-tensor parameters (one scale, one zero point) qualify; a u8/s8
 * tensor without them is an integer tensor and is read as integers.
 */
#include <string.h>

#include "engine_format.h"
#include "plan.h"

/* Operand positions of an op's quantisation parameters: for its output
 * (out_scale, out_zp) and for inputs (in_x[k] is an input, in_scale[k]
 * and in_zp[k] its parameters); -1 absent. */
typedef struct qpos {
  const char *op;
  int out_scale, out_zp;
  int in_x[2], in_scale[2], in_zp[2];
} qpos;

static const qpos qpos_table[] = {
    {"QuantizeLinear", 1, 2, {-1, -1}, {-1, -1}, {-1, -1}},
    {"DequantizeLinear", -1, -1, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearConv", 6, 7, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearMatMul", 6, 7, {0, 3}, {1, 4}, {2, 5}},
    {"QLinearAdd", 6, 7, {0, 3}, {1, 4}, {2, 5}},
    {"QLinearMul", 6, 7, {0, 3}, {1, 4}, {2, 5}},
    {"QLinearGlobalAveragePool", 3, 4, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearAveragePool", 3, 4, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearSigmoid", 3, 4, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearLeakyRelu", 3, 4, {0, -1}, {1, -1}, {2, -1}},
    {"QLinearConcat", 0, 1, {-1, -1}, {-1, -1}, {-1, -1}},
    {"QGemm", 7, 8, {0, -1}, {1, -1}, {2, -1}},
};

/* Ops whose int8 output has their input 0's parameters (docs/int8.md). */
static const char *const keeps_params[] = {
    "MaxPool",   "Relu",      "Reshape",   "Flatten", "Transpose",
    "Squeeze",   "Unsqueeze", "Slice",     "Identity", "IngotLayoutCast",
    "GlobalMaxPool", "Split", "Gather",    "DepthToSpace", "SpaceToDepth",
    "Max",       "Min", /* qdq-fold's Relu/Clip bounds on the int8 tensor */
};

static const qpos *qpos_of(const ir_node *n) {
  const char *name = ir_op_get(n->op)->name;
  for (size_t i = 0; i < sizeof qpos_table / sizeof qpos_table[0]; i++)
    if (strcmp(qpos_table[i].op, name) == 0) return &qpos_table[i];
  return NULL;
}

static bool keeps(const ir_node *n) {
  const char *name = ir_op_get(n->op)->name;
  for (size_t i = 0; i < sizeof keeps_params / sizeof keeps_params[0]; i++)
    if (strcmp(keeps_params[i], name) == 0) return true;
  return false;
}

static bool is_int8(ir_dtype dt) { return dt == IR_U8 || dt == IR_I8; }

/* Scale and zero point from operands |si| and |zi| of |n| (zi may be
 * absent: zero point 0), when both are one-element constants. */
static bool params_at(const ir_graph *g, const ir_node *n, int si, int zi,
                      float *scale, int32_t *zp) {
  if (si < 0 || si >= n->n_in || !n->in[si]) return false;
  const ir_tensor *s = &g->tensors[n->in[si]];
  if (s->role != IR_ROLE_CONSTANT || !s->data || s->dtype != IR_F32 ||
      ir_shape_numel(&s->shape) != 1)
    return false;
  float sc = (float)ir_load_f64(s->dtype, s->data, 0);
  if (!(sc > 0) || sc != sc || sc > 3.4e38f) return false;
  int32_t z = 0;
  if (zi >= 0 && zi < n->n_in && n->in[zi]) {
    const ir_tensor *zt = &g->tensors[n->in[zi]];
    if (zt->role != IR_ROLE_CONSTANT || !zt->data ||
        ir_shape_numel(&zt->shape) != 1 || !is_int8(zt->dtype))
      return false;
    z = (int32_t)ir_load_f64(zt->dtype, zt->data, 0);
  }
  *scale = sc;
  *zp = z;
  return true;
}

static ir_node_id producer_of(const ir_graph *g, ir_tensor_id t) {
  for (ir_node_id k = 1; k < g->n_nodes; k++)
    for (int i = 0; i < g->nodes[k].n_out; i++)
      if (g->nodes[k].out[i] == t) return k;
  return 0;
}

static bool from_consumers(const ir_graph *g, ir_tensor_id t, float *scale,
                           int32_t *zp) {
  for (ir_node_id k = 1; k < g->n_nodes; k++) {
    const ir_node *n = &g->nodes[k];
    const qpos *q = qpos_of(n);
    for (int j = 0; q && j < 2; j++)
      if (q->in_x[j] >= 0 && q->in_x[j] < n->n_in && n->in[q->in_x[j]] == t &&
          params_at(g, n, q->in_scale[j], q->in_zp[j], scale, zp))
        return true;
  }
  return false;
}

bool cg_tensor_quant(const ir_graph *g, ir_tensor_id t, float *scale,
                     int32_t *zp) {
  if (!is_int8(g->tensors[t].dtype)) return false;
  for (int depth = 0; depth < 64; depth++) {
    const ir_tensor *x = &g->tensors[t];
    if (x->quant && x->quant->count == 1 && x->quant->scale[0] > 0) {
      *scale = x->quant->scale[0];
      *zp = x->quant->zero_point ? x->quant->zero_point[0] : 0;
      return true;
    }
    if (from_consumers(g, t, scale, zp)) return true;
    ir_node_id p = producer_of(g, t);
    if (!p) return false;
    const ir_node *n = &g->nodes[p];
    const qpos *q = qpos_of(n);
    if (q) return params_at(g, n, q->out_scale, q->out_zp, scale, zp);
    if (!keeps(n) || !n->n_in || !n->in[0] ||
        g->tensors[n->in[0]].dtype != x->dtype)
      return false;
    t = n->in[0];
  }
  return false;
}

void cg_map_entry(const ir_graph *g, ir_tensor_id id, uint64_t offset,
                  uint32_t ready_step, cg_map_tensor *out) {
  const ir_tensor *t = &g->tensors[id];
  memset(out, 0, sizeof *out);
  out->name = t->name;
  out->dtype = (uint32_t)t->dtype;
  out->rank = (uint32_t)t->shape.rank;
  for (int k = 0; k < t->shape.rank; k++) out->dims[k] = t->shape.dims[k];
  ir_value v = {t->dtype, t->shape, NULL, false};
  out->arena_offset = offset;
  out->arena_bytes = ir_value_nbytes(&v);
  out->layout = t->layout == INGOT_LAYOUT_NHWC && t->shape.rank == 4
                    ? INGOT_LAYOUT_NHWC
                    : INGOT_LAYOUT_AS_MODEL;
  out->ready_step = ready_step;
  out->scale = 1.0f;
  out->quantized = cg_tensor_quant(g, id, &out->scale, &out->zero_point);
  int32_t lo = t->dtype == IR_I8 ? -128 : 0;
  if (out->quantized &&
      (out->zero_point < lo || out->zero_point > lo + 255))
    out->quantized = false;
  if (!out->quantized) {
    out->scale = 1.0f;
    out->zero_point = 0;
  }
}
