/* fuse_reduce.c — two reductions of the same kind in a row become one
 * over the union of their axes: ReduceMean(ReduceMean(x, [3]), [2]) is
 * ReduceMean(x, [2, 3]) (a global average pool written as two means, as
 * the MLPerf Tiny models and many PyTorch exports have it); likewise Sum,
 * Max and Min.
 *
 * Requires: fold (axes are constants).  Provides: no such pair whose
 * inner result has no other reader.
 *
 * Max and Min give exactly the same values.  A mean of equal-sized group
 * means, and a sum of partial sums, equal the single reduction in exact
 * arithmetic and differ from it only by rounding (the reference sums in
 * double): the fused graph is what the engine computes, bit for bit in an
 * int8 model (docs/fusion.md).  The second node becomes the fused one, in
 * the form its opset writes (axes attribute before opset 18, ReduceSum 13
 * and later take an axes input), so --dump-ir round-trips.
 */
#include <stdio.h>
#include <string.h>

#include "fuse_match.h"
#include "params.h"

/* The axes of a reduce node over an input of |rank|, as a bit set; false
 * when they are not constant or the node reduces everything. */
static bool axes_of(const ir_graph *g, const ir_node *n, int rank,
                    unsigned *set) {
  if (n->n_in < 2 || !n->in[1]) return false;
  const ir_tensor *a = &g->tensors[n->in[1]];
  size_t k = ir_shape_numel(&a->shape);
  if (a->role != IR_ROLE_CONSTANT || !a->data || k == 0 || k > IR_MAX_RANK)
    return false;
  *set = 0;
  for (size_t i = 0; i < k; i++) {
    int64_t v = ir_load_i64(a->dtype, a->data, i);
    if (v < 0) v += rank;
    if (v < 0 || v >= rank) return false;
    *set |= 1u << v;
  }
  return true;
}

static bool axes_input_form(const ir_node *n) {
  return (n->op == IR_OP_REDUCE_SUM && n->opset >= 13) || n->opset >= 18;
}

ingot_status pass_fuse_reduce(ir_graph *g, const pass_options *opt) {
  if (opt && opt->no_fuse) return NULL;
  fuse_graph f;
  INGOT_RETURN_IF_ERROR(fuse_graph_init(&f, g));
  ingot_status s = NULL;
  int found = 0;
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *r1 = &g->nodes[nid];
    if (f.dead[nid] || (r1->op != IR_OP_REDUCE_MEAN &&
                        r1->op != IR_OP_REDUCE_SUM &&
                        r1->op != IR_OP_REDUCE_MAX &&
                        r1->op != IR_OP_REDUCE_MIN))
      continue;
    ir_tensor_id x = r1->in[0];
    const ir_tensor *tx = &g->tensors[x];
    ir_node_id id2 = fuse_single_reader(&f, r1->out[0]);
    if (!id2 || tx->dtype != IR_F32 || !tx->shape_known) continue;
    const ir_node *r2 = &g->nodes[id2];
    if (r2->op != r1->op || r2->in[0] != r1->out[0]) continue;
    const ir_p_reduce *p1 = r1->params, *p2 = r2->params;
    if (!p1 || !p2 || p1->keepdims != p2->keepdims) continue;
    int rank = tx->shape.rank;
    unsigned a1, a2;
    if (!axes_of(g, r1, rank, &a1) ||
        !axes_of(g, r2, g->tensors[r1->out[0]].shape.rank, &a2))
      continue;
    /* r2's axes in x's numbering */
    unsigned all = a1;
    for (int d = 0, k = 0; d < rank; d++) {
      if (!p1->keepdims && (a1 >> d & 1)) continue;
      if (a2 >> k & 1) all |= 1u << d;
      k++;
    }
    int64_t axes[IR_MAX_RANK];
    int na = 0;
    for (int d = 0; d < rank; d++)
      if (all >> d & 1) axes[na++] = d;
    ir_tensor_id in[2] = {x, 0};
    int n_in = 1;
    ir_attr at[2] = {{.name = "keepdims", .kind = IR_ATTR_INT,
                      .i = p1->keepdims ? 1 : 0},
                     {.name = "axes", .kind = IR_ATTR_INTS, .n = na}};
    int n_at = 1;
    if (axes_input_form(r2)) {
      ir_value v = {.dtype = IR_I64,
                    .shape = {.rank = 1, .dims = {na}},
                    .data = axes,
                    .borrowed = true};
      s = ir_graph_add_constant(g, NULL, "fused_axes", &v, &in[1]);
      n_in = 2;
    } else {
      at[1].ints = ir_arena_memdup(&g->arena, axes, na * sizeof *axes);
      if (!at[1].ints)
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
      n_at = 2;
    }
    if (s) break;
    if (opt && opt->log)
      fprintf(opt->log, "fuse-reduce: %s '%s' and '%s' became one over %d "
                        "axes\n",
              ir_op_get(r2->op)->name, r1->name, r2->name, na);
    ir_node_id absorbed[1] = {nid};
    s = fuse_rewrite(&f, id2, r2->op, in, n_in, at, n_at, absorbed, 1,
                     "fuse-reduce");
    found++;
  }
  fuse_graph_finish(&f);
  if (!s && found) s = ir_infer_shapes(g);
  return s;
}
