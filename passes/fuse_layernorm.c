/* fuse_layernorm.c — the opset-13 LayerNormalization subgraph becomes one
 * LayerNormalization node (opset 17's op, which the reference and the
 * engine already run: ir/ref/norm.c, codegen/lower_norm.c).
 *
 * Requires: fold, simplify.  Provides: no such subgraph left.
 *
 * The pattern, over the last axis of x (axes [-1] or [rank-1], keepdims):
 *   m = ReduceMean(x);  d = x - m
 *   v = ReduceMean(Pow(d, 2))          (or d * d)
 *   y = d / Sqrt(v + eps)              eps a constant scalar
 *   y = y * gamma  (optional)          gamma a constant of the last dim
 *   y = y + beta   (optional)          beta likewise
 * d is read exactly twice (the square and the division); every other inner
 * tensor once; none is a graph output.  The last node becomes
 * LayerNormalization(x, gamma or ones, beta) with axis -1 and epsilon eps.
 * The reference's LayerNormalization computes the same quantity in one
 * pass, so outputs agree to rounding (tests/passes/test_fuse.c: 1e-5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h"
#include "params.h"

/* A ReduceMean over the last axis of its input, keeping dims. */
static bool mean_last(const ir_graph *g, const ir_node *n) {
  if (n->op != IR_OP_REDUCE_MEAN || !n->params || n->n_in < 2 || !n->in[1])
    return false;
  const ir_p_reduce *p = n->params;
  const ir_tensor *ax = &g->tensors[n->in[1]];
  const ir_tensor *x = &g->tensors[n->in[0]];
  if (!p->keepdims || ax->role != IR_ROLE_CONSTANT || !ax->data ||
      ir_shape_numel(&ax->shape) != 1 || x->dtype != IR_F32 ||
      x->shape.rank < 1)
    return false;
  int64_t a = ir_load_i64(ax->dtype, ax->data, 0);
  return a == -1 || a == x->shape.rank - 1;
}

/* A constant float32 row of |d| values along the last axis. */
static bool const_row(const ir_graph *g, ir_tensor_id t, int64_t d) {
  const ir_tensor *c = &g->tensors[t];
  return c->role == IR_ROLE_CONSTANT && c->data && c->dtype == IR_F32 &&
         c->shape.rank >= 1 && c->shape.dims[c->shape.rank - 1] == d &&
         (int64_t)ir_shape_numel(&c->shape) == d;
}

/* A [d] copy of a constant row (or ones when |t| is 0). */
static ingot_status row_const(ir_graph *g, ir_tensor_id t, int64_t d,
                              const char *hint, ir_tensor_id *out) {
  ir_value v = {.dtype = IR_F32, .shape = {.rank = 1, .dims = {d}}};
  INGOT_RETURN_IF_ERROR(ir_value_alloc(&v));
  float *p = v.data;
  for (int64_t i = 0; i < d; i++)
    p[i] = t ? ((const float *)g->tensors[t].data)[i] : 1.0f;
  ingot_status s = ir_graph_add_constant(g, NULL, hint, &v, out);
  ir_value_free(&v);
  return s;
}

ingot_status pass_fuse_layernorm(ir_graph *g, const pass_options *opt) {
  if (opt && opt->no_fuse) return NULL;
  fuse_graph f;
  INGOT_RETURN_IF_ERROR(fuse_graph_init(&f, g));
  ingot_status s = NULL;
  int found = 0;
  uint32_t n_nodes = g->n_nodes;
  for (ir_node_id nid = 1; !s && nid < n_nodes; nid++) {
    const ir_node *r1 = &g->nodes[nid];
    if (f.dead[nid] || !mean_last(g, r1)) continue;
    ir_tensor_id x = r1->in[0];
    int64_t D = g->tensors[x].shape.dims[g->tensors[x].shape.rank - 1];
    ir_node_id sub = fuse_single_reader(&f, r1->out[0]);
    if (!sub || g->nodes[sub].op != IR_OP_SUB ||
        g->nodes[sub].in[0] != x || g->nodes[sub].in[1] != r1->out[0])
      continue;
    ir_tensor_id d = g->nodes[sub].out[0];
    if (g->tensors[d].is_output) continue;
    /* the two readers of d: the square and the division, nothing else */
    ir_node_id sq = 0, dv = 0;
    int readers = 0;
    for (ir_node_id k = sub + 1; k < n_nodes; k++) {
      const ir_node *c = &g->nodes[k];
      if (f.dead[k]) continue;
      bool reads = false;
      for (int i = 0; i < c->n_in; i++) reads |= c->in[i] == d;
      if (!reads) continue;
      readers++;
      if ((c->op == IR_OP_POW && c->in[0] == d &&
           fuse_binary_with(g, c, IR_OP_POW, d, 2.0f, 0, false)) ||
          (c->op == IR_OP_MUL && c->n_in == 2 && c->in[0] == d &&
           c->in[1] == d))
        sq = k;
      else if (c->op == IR_OP_DIV && c->in[0] == d)
        dv = k;
    }
    if (!sq || !dv || readers != 2) continue;
    ir_node_id r2 = fuse_single_reader(&f, g->nodes[sq].out[0]);
    if (!r2 || !mean_last(g, &g->nodes[r2])) continue;
    ir_node_id ae = fuse_single_reader(&f, g->nodes[r2].out[0]);
    float eps;
    if (!ae || g->nodes[ae].op != IR_OP_ADD ||
        !fuse_const_scalar(g,
                           fuse_other_input(&g->nodes[ae],
                                            g->nodes[r2].out[0]),
                           &eps) ||
        !(eps >= 0))
      continue;
    ir_node_id rt = fuse_single_reader(&f, g->nodes[ae].out[0]);
    if (!rt || g->nodes[rt].op != IR_OP_SQRT ||
        fuse_single_reader(&f, g->nodes[rt].out[0]) != dv ||
        g->nodes[dv].in[1] != g->nodes[rt].out[0])
      continue;
    ir_node_id nodes[9] = {nid, sub, sq, r2, ae, rt, dv};
    int n = 7;
    ir_node_id last = dv;
    ir_tensor_id gamma = 0, beta = 0;
    ir_node_id mg = fuse_single_reader(&f, g->nodes[dv].out[0]);
    if (mg && g->nodes[mg].op == IR_OP_MUL) {
      ir_tensor_id c = fuse_other_input(&g->nodes[mg], g->nodes[dv].out[0]);
      if (c && const_row(g, c, D)) {
        gamma = c;
        nodes[n++] = last = mg;
      }
    }
    ir_node_id ab = fuse_single_reader(&f, g->nodes[last].out[0]);
    if (ab && g->nodes[ab].op == IR_OP_ADD) {
      ir_tensor_id c = fuse_other_input(&g->nodes[ab], g->nodes[last].out[0]);
      if (c && const_row(g, c, D)) {
        beta = c;
        nodes[n++] = last = ab;
      }
    }
    /* The output keeps x's shape (no broadcast grew it). */
    if (!ir_shape_equal(&g->tensors[g->nodes[last].out[0]].shape,
                        &g->tensors[x].shape))
      continue;
    ir_tensor_id in[3] = {x, 0, 0};
    s = row_const(g, gamma, D, "ln_scale", &in[1]);
    if (!s && beta) s = row_const(g, beta, D, "ln_bias", &in[2]);
    if (s) break;
    ir_node_id absorbed[9];
    int na = 0;
    for (int i = 0; i < n; i++)
      if (nodes[i] != last) absorbed[na++] = nodes[i];
    ir_attr at[2] = {{.name = "axis", .kind = IR_ATTR_INT, .i = -1},
                     {.name = "epsilon", .kind = IR_ATTR_FLOAT, .f = eps}};
    if (opt && opt->log)
      fprintf(opt->log,
              "fuse-layernorm: %d nodes ending in '%s' became "
              "LayerNormalization (epsilon %g)\n",
              n, g->nodes[last].name, eps);
    s = fuse_rewrite(&f, last, IR_OP_LAYER_NORM, in, beta ? 3 : 2, at, 2,
                     absorbed, na, "fuse-layernorm");
    found++;
  }
  fuse_graph_finish(&f);
  if (!s && found) s = ir_infer_shapes(g);
  return s;
}
