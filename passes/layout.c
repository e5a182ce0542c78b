/* layout.c — choose how each tensor is stored in the engine.
 *
 * Requires: fold, simplify, static shapes.  Provides: ir_tensor.layout for
 * every tensor, and the invariants the kernels rely on (codegen/lower.h):
 *  - rank-4 inputs X and outputs Y of Conv, ConvTranspose, ConvInteger,
 *    QLinearConv and the pools are NHWC;
 *  - every rank-4 operand of an elementwise op has the op's layout, and
 *    constant operands broadcast against an NHWC result are replaced by
 *    permuted copies;
 *  - a Concat of NHWC activations is NHWC; every other op sees tensors in
 *    the model's layout.
 * Where a consumer needs another layout than its producer wrote, an
 * IngotLayoutCast node is inserted (the reference treats it as Identity).
 *
 * Choice: the output of a conv/pool is NHWC; an elementwise op is NHWC when
 * one of its rank-4 activation operands is NHWC and every other operand is
 * rank-4 or constant; graph inputs and everything else keep the model's
 * layout.  So a CNN runs NHWC from its first conv to its last pool, with
 * one conversion at each end.  A Concat whose inputs are all NHWC
 * activations is NHWC too (codegen/plan_fuse_concat.c then folds a
 * channel concat into channel-strided slices).
 *
 * Int8 regions (QOperator models) stay NHWC through the com.microsoft ops:
 * QLinearAveragePool and QLinearGlobalAveragePool are pools (unless their
 * channels_last attribute says the model's tensor is already N,H,W,C);
 * QLinearAdd, QLinearMul, QLinearSigmoid and QLinearLeakyRelu are
 * elementwise on their data inputs (0 and 3 for Add/Mul; the scales and
 * zero points are scalars); QLinearConcat is NHWC like an elementwise op
 * (its lowering maps the axis to memory order).  Per-tensor
 * QuantizeLinear keeps its input's layout (a needed conversion then moves
 * to the 1-byte side); per-tensor DequantizeLinear keeps an NHWC input's
 * layout only when every consumer of its float output wants NHWC, and is
 * otherwise converted on its 1-byte input.
 */
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "passes.h"

enum { AS_MODEL = 0, NHWC = 1 };

static bool is_spatial(const ir_node *n) {
  switch (n->op) {
  case IR_OP_CONV: case IR_OP_CONV_TRANSPOSE: case IR_OP_CONV_INTEGER:
  case IR_OP_QLINEAR_CONV: case IR_OP_AVERAGE_POOL: case IR_OP_MAX_POOL:
  case IR_OP_GLOBAL_AVERAGE_POOL: case IR_OP_GLOBAL_MAX_POOL:
    return true;
  case IR_OP_QLINEAR_AVERAGE_POOL: case IR_OP_QLINEAR_GLOBAL_AVERAGE_POOL: {
    const ir_p_qlinear_pool *p = n->params;
    return p && !p->channels_last;
  }
  default:
    return false;
  }
}

/* Which input of a spatial op is its activation X. */
static bool is_spatial_x(const ir_node *n, int k) {
  return is_spatial(n) && k == 0;
}

/* A per-tensor QuantizeLinear / DequantizeLinear (one scale). */
static bool is_per_tensor_q(const ir_graph *g, const ir_node *n) {
  if (n->op != IR_OP_QUANTIZE_LINEAR && n->op != IR_OP_DEQUANTIZE_LINEAR)
    return false;
  return n->n_in > 1 && n->in[1] &&
         ir_shape_numel(&g->tensors[n->in[1]].shape) == 1;
}

/* Ops computed element by element on their data inputs, whatever the
 * layout (every other input a scalar constant or a broadcast operand). */
static bool is_elementwise(const ir_node *n) {
  if (n->n_out != 1) return false;
  switch (n->op) {
  case IR_OP_QLINEAR_ADD: case IR_OP_QLINEAR_MUL: case IR_OP_QLINEAR_SIGMOID:
  case IR_OP_QLINEAR_LEAKY_RELU: case IR_OP_QLINEAR_CONCAT:
    return true;
  default:
    return (ir_op_get(n->op)->flags & IR_OPF_ELEMENTWISE) != 0;
  }
}

/* Is input |k| of |n| data (not a scale or zero point)? */
static bool is_data_input(const ir_node *n, int k) {
  switch (n->op) {
  case IR_OP_QLINEAR_ADD: case IR_OP_QLINEAR_MUL: return k == 0 || k == 3;
  case IR_OP_QLINEAR_SIGMOID: case IR_OP_QLINEAR_LEAKY_RELU:
  case IR_OP_QUANTIZE_LINEAR: case IR_OP_DEQUANTIZE_LINEAR:
    return k == 0;
  case IR_OP_QLINEAR_CONCAT: return k >= 2 && (k - 2) % 3 == 0;
  default: return true;
  }
}

/* A Concat whose inputs are all NHWC activations stays NHWC (its axis
 * maps to memory order in the lowering; over channels, fold-concat makes
 * the producers write channel-strided slices): no cast per input. */
static bool concat_of_nhwc(const ir_graph *g, const ir_node *n) {
  for (int k = 0; k < n->n_in; k++) {
    const ir_tensor *t = n->in[k] ? &g->tensors[n->in[k]] : NULL;
    if (!t || t->role == IR_ROLE_CONSTANT || t->shape.rank != 4 ||
        t->layout != NHWC)
      return false;
  }
  return n->n_in > 0;
}

/* Would every consumer of tensor |t| (nodes after |from|) take it NHWC? */
static bool consumers_want_nhwc(const ir_graph *g, ir_node_id from,
                                ir_tensor_id t) {
  bool any = false;
  for (ir_node_id c = from + 1; c < g->n_nodes; c++) {
    const ir_node *m = &g->nodes[c];
    for (int k = 0; k < m->n_in; k++) {
      if (m->in[k] != t) continue;
      if (!is_spatial_x(m, k) && !(is_elementwise(m) && is_data_input(m, k)))
        return false;
      any = true;
    }
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return false;
  return any;
}

/* Layout node |n| wants for its input |k| (given the layouts so far). */
static int wanted_input(const ir_graph *g, const ir_node *n, int k,
                        int node_layout) {
  const ir_tensor *t = &g->tensors[n->in[k]];
  if (t->shape.rank != 4) return AS_MODEL;
  if (is_spatial_x(n, k)) return NHWC;
  if (n->op == IR_OP_CONCAT) return node_layout;
  if ((is_elementwise(n) || is_per_tensor_q(g, n)) && is_data_input(n, k))
    return node_layout;
  return AS_MODEL;
}

/* Permutes constant |t| (broadcastable to a rank-4 NHWC result, read with
 * shape |view|: its own, or PRelu-6's channel view) into the NHWC order of
 * a new constant; returns its id in *out. */
static ingot_status permute_constant(ir_graph *g, ir_tensor_id id,
                                     const ir_shape *view,
                                     ir_tensor_id *out) {
  const ir_tensor *t = &g->tensors[id];
  ir_shape s4 = {4, {1, 1, 1, 1}};
  for (int d = 0; d < view->rank; d++)
    s4.dims[4 - view->rank + d] = view->dims[d];
  ir_value v = {t->dtype, {4, {s4.dims[0], s4.dims[2], s4.dims[3], s4.dims[1]}},
                NULL, false};
  INGOT_RETURN_IF_ERROR(ir_value_alloc(&v));
  size_t es = ir_dtype_traits[t->dtype].size;
  int64_t N = s4.dims[0], C = s4.dims[1], H = s4.dims[2], W = s4.dims[3];
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++)
          memcpy((char *)v.data + (((n * H + h) * W + w) * C + c) * es,
                 (const char *)t->data + (((n * C + c) * H + h) * W + w) * es,
                 es);
  char name[512];
  snprintf(name, sizeof name, "%s__nhwc%d", t->name, view->rank);
  ir_tensor_id found = ir_graph_find_tensor(g, name);
  ingot_status s = NULL;
  if (found)
    *out = found;
  else
    s = ir_graph_add_constant(g, name, NULL, &v, out);
  ir_value_free(&v);
  /* The new constant's shape is already in memory order (N,H,W,C), so it
   * is stored "as its shape says": layout AS_MODEL. */
  return s;
}

ingot_status pass_layout(ir_graph *g, const pass_options *opt) {
  for (ir_tensor_id t = 1; t < g->n_tensors; t++) g->tensors[t].layout = AS_MODEL;
  if (!opt || !opt->nhwc) return NULL;
  int casts = 0, permuted = 0;
  /* Walk in order; node ids shift when casts are inserted before them. */
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    ir_node *n = &g->nodes[nid];
    int layout = AS_MODEL;
    bool out4 = n->out[0] && g->tensors[n->out[0]].shape.rank == 4;
    if (is_spatial(n) && out4) {
      layout = NHWC;
    } else if (is_elementwise(n) && out4) {
      bool any_nhwc = false, all_ok = true;
      for (int k = 0; k < n->n_in; k++) {
        const ir_tensor *t = n->in[k] ? &g->tensors[n->in[k]] : NULL;
        if (!t) continue;
        if (t->role == IR_ROLE_CONSTANT) continue;
        if (t->shape.rank != 4) all_ok = false;
        else if (t->layout == NHWC) any_nhwc = true;
      }
      /* Where's condition may be bool; Clip's bounds are scalars: fine. */
      if (any_nhwc && all_ok) layout = NHWC;
    } else if (n->op == IR_OP_CONCAT && out4 && concat_of_nhwc(g, n)) {
      layout = NHWC;
    } else if (is_per_tensor_q(g, n) && out4 &&
               g->tensors[n->in[0]].layout == NHWC &&
               (n->op == IR_OP_QUANTIZE_LINEAR ||
                consumers_want_nhwc(g, nid, n->out[0]))) {
      layout = NHWC;
    }
    /* Inputs: cast activations, permute constants. */
    for (int k = 0; k < n->n_in; k++) {
      ir_tensor_id tid = n->in[k];
      if (!tid) continue;
      ir_tensor *t = &g->tensors[tid];
      if (t->role == IR_ROLE_CONSTANT) {
        if (layout == NHWC && is_elementwise(n) && is_data_input(n, k) &&
            t->shape.rank <= 4 && ir_shape_numel(&t->shape) > 1) {
          /* PRelu before opset 7 applies a 1-D slope along the channels
           * (ir/ref/binary.c): view it as [C,1,1]. */
          ir_shape view = t->shape;
          if (n->op == IR_OP_PRELU && n->opset < 7 && k == 1 &&
              view.rank == 1 && view.dims[0] > 1)
            view = (ir_shape){3, {t->shape.dims[0], 1, 1}};
          ir_tensor_id p;
          INGOT_RETURN_IF_ERROR(permute_constant(g, tid, &view, &p));
          n = &g->nodes[nid];
          n->in[k] = p;
          permuted++;
        }
        continue;
      }
      int want = wanted_input(g, n, k, layout);
      if (t->layout == want) continue;
      /* Insert a cast before this node (reuse one made for an earlier
       * consumer of the same tensor). */
      char name[512];
      snprintf(name, sizeof name, "%s__%s", t->name,
               want == NHWC ? "nhwc" : "nchw");
      ir_tensor_id cast = ir_graph_find_tensor(g, name);
      if (!cast) {
        INGOT_RETURN_IF_ERROR(ir_graph_add_tensor(g, name, &cast));
        ir_tensor *c = &g->tensors[cast];
        const ir_tensor *src = &g->tensors[tid];
        c->dtype = src->dtype;
        c->shape = src->shape;
        c->shape_known = true;
        c->layout = (uint8_t)want;
        char nname[512];
        snprintf(nname, sizeof nname, "%s__layout", name);
        INGOT_RETURN_IF_ERROR(ir_graph_insert_node(
            g, nid, IR_OP_LAYOUT_CAST, nname, &tid, 1, &cast, 1, NULL));
        nid++; /* our node moved up by one */
        casts++;
      }
      n = &g->nodes[nid];
      n->in[k] = cast;
    }
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k])
        g->tensors[n->out[k]].layout =
            (uint8_t)((k == 0 && g->tensors[n->out[k]].shape.rank == 4)
                          ? layout
                          : AS_MODEL);
  }
  if (opt->log && (casts || permuted))
    fprintf(opt->log,
            "layout: NHWC inside conv/pool regions; %d layout cast(s), %d "
            "constant(s) permuted\n",
            casts, permuted);
  return NULL;
}
