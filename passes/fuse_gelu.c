/* fuse_gelu.c — GELU subgraphs become one Gelu node (ONNX Gelu-20).
 *
 * Requires: fold (constants are constants), simplify.  Provides: no
 * Erf-form or tanh-form GELU subgraph left; each is a Gelu node named after
 * the pattern's last node, with the others in its fused lines.
 *
 * Erf form, as PyTorch and Keras export it:
 *   Gelu(x) = x * 0.5 * (1 + Erf(x / sqrt(2)))       (or Erf(x * 1/sqrt(2)))
 * tanh form (approximate="tanh"):
 *   Gelu(x) = x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
 *                                   (x^3 as Pow(x, 3) or x * x * x)
 * The three factors x, 0.5 and (1 + ...) may be multiplied in any order:
 * (x * a) * 0.5, (a * 0.5) * x, (x * 0.5) * a.  Constants must match to a
 * relative 1e-4 (exports round them differently).  Anything else — another
 * constant, an inner tensor read twice or a graph output, float64 — is
 * left alone (tests/passes/test_fuse.c has such near misses).
 *
 * The engine runs Gelu as one k_ew_unary step, or in the epilogue of the
 * MatMul before it (codegen/plan_fuse.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuse_match.h"

#define TOL(v) (fabsf(v) * 1e-4f)

/* The node producing |t|, or NULL for a graph input or constant. */
static const ir_node *producer(const ir_graph *g, ir_tensor_id t) {
  ir_node_id p = g->tensors[t].producer;
  return p ? &g->nodes[p] : NULL;
}

/* From a = 1 + f(x), the product with x and 0.5: returns the last node
 * (0: no match) and appends the others to nodes[*n]. */
static ir_node_id match_product(const fuse_graph *f, ir_tensor_id a,
                                ir_tensor_id x, ir_node_id *nodes, int *n) {
  const ir_graph *g = f->g;
  ir_node_id m = fuse_single_reader(f, a);
  if (!m || g->nodes[m].op != IR_OP_MUL) return 0;
  const ir_node *mn = &g->nodes[m];
  ir_tensor_id other = fuse_other_input(mn, a);
  if (!other) return 0;
  if (other == x) { /* (x * a) * 0.5 */
    ir_node_id m2 = fuse_single_reader(f, mn->out[0]);
    if (!m2 || !fuse_binary_with(g, &g->nodes[m2], IR_OP_MUL, mn->out[0],
                                 0.5f, 0, true))
      return 0;
    nodes[(*n)++] = m;
    return m2;
  }
  if (fuse_binary_with(g, mn, IR_OP_MUL, a, 0.5f, 0, true)) {
    /* (a * 0.5) * x */
    ir_node_id m2 = fuse_single_reader(f, mn->out[0]);
    if (!m2 || g->nodes[m2].op != IR_OP_MUL ||
        fuse_other_input(&g->nodes[m2], mn->out[0]) != x)
      return 0;
    nodes[(*n)++] = m;
    return m2;
  }
  /* a * (x * 0.5) */
  const ir_node *h = producer(g, other);
  if (!h || !fuse_binary_with(g, h, IR_OP_MUL, x, 0.5f, 0, true) ||
      fuse_single_reader(f, other) != m)
    return 0;
  nodes[(*n)++] = g->tensors[other].producer;
  return m;
}

/* Erf(d) with d = x / sqrt(2) or x * (1/sqrt(2)). */
static ir_tensor_id erf_arg(const fuse_graph *f, const ir_node *e,
                            ir_node_id *nodes, int *n) {
  const ir_graph *g = f->g;
  ir_tensor_id d = e->in[0];
  const ir_node *dn = producer(g, d);
  if (!dn || dn->n_in != 2 || fuse_single_reader(f, d) == 0) return 0;
  ir_tensor_id x = dn->in[0];
  float c = 0;
  if (dn->op == IR_OP_DIV && fuse_const_scalar(g, dn->in[1], &c) &&
      fabsf(c - 1.41421356f) <= TOL(1.41421356f)) {
  } else if (dn->op == IR_OP_MUL) {
    x = fuse_const_scalar(g, dn->in[1], &c) ? dn->in[0] : dn->in[1];
    if (!fuse_const_scalar(g, fuse_other_input(dn, x), &c) ||
        fabsf(c - 0.70710678f) > TOL(0.70710678f))
      return 0;
  } else {
    return 0;
  }
  nodes[(*n)++] = g->tensors[d].producer;
  return x;
}

/* Tanh(u), u = sqrt(2/pi) * (x + 0.044715 * x^3). */
static ir_tensor_id tanh_arg(const fuse_graph *f, const ir_node *th,
                             ir_node_id *nodes, int *n) {
  const ir_graph *g = f->g;
  ir_tensor_id u = th->in[0];
  const ir_node *un = producer(g, u);
  if (!un || un->op != IR_OP_MUL || un->n_in != 2 ||
      !fuse_single_reader(f, u))
    return 0;
  float c;
  ir_tensor_id v = fuse_const_scalar(g, un->in[1], &c) ? un->in[0]
                                                       : un->in[1];
  if (!fuse_const_scalar(g, fuse_other_input(un, v), &c) ||
      fabsf(c - 0.7978845608f) > TOL(0.7978845608f))
    return 0;
  const ir_node *vn = producer(g, v);
  if (!vn || vn->op != IR_OP_ADD || vn->n_in != 2 ||
      fuse_single_reader(f, v) != g->tensors[u].producer)
    return 0;
  /* x + w or w + x, w = 0.044715 * x^3 */
  for (int side = 0; side < 2; side++) {
    ir_tensor_id x = vn->in[side], w = vn->in[1 - side];
    const ir_node *wn = producer(g, w);
    if (!wn || wn->op != IR_OP_MUL || wn->n_in != 2 ||
        fuse_single_reader(f, w) != g->tensors[v].producer)
      continue;
    ir_tensor_id p = fuse_const_scalar(g, wn->in[1], &c) ? wn->in[0]
                                                         : wn->in[1];
    if (!fuse_const_scalar(g, fuse_other_input(wn, p), &c) ||
        fabsf(c - 0.044715f) > TOL(0.044715f))
      continue;
    const ir_node *pn = producer(g, p);
    if (!pn || fuse_single_reader(f, p) != g->tensors[w].producer) continue;
    int k = *n;
    ir_node_id extra[2];
    int ne = 0;
    if (pn->op == IR_OP_POW) {
      if (pn->in[0] != x || !fuse_const_scalar(g, pn->in[1], &c) || c != 3.0f)
        continue;
    } else if (pn->op == IR_OP_MUL && pn->n_in == 2) {
      /* (x * x) * x or x * (x * x) */
      ir_tensor_id sq = pn->in[0] == x ? pn->in[1] : pn->in[0];
      if (fuse_other_input(pn, sq) != x) continue;
      const ir_node *sn = producer(g, sq);
      if (!sn || sn->op != IR_OP_MUL || sn->in[0] != x || sn->in[1] != x ||
          fuse_single_reader(f, sq) != g->tensors[p].producer)
        continue;
      extra[ne++] = g->tensors[sq].producer;
    } else {
      continue;
    }
    nodes[k++] = g->tensors[u].producer;
    nodes[k++] = g->tensors[v].producer;
    nodes[k++] = g->tensors[w].producer;
    nodes[k++] = g->tensors[p].producer;
    for (int i = 0; i < ne; i++) nodes[k++] = extra[i];
    *n = k;
    return x;
  }
  return 0;
}

ingot_status pass_fuse_gelu(ir_graph *g, const pass_options *opt) {
  if (opt && opt->no_fuse) return NULL;
  fuse_graph f;
  INGOT_RETURN_IF_ERROR(fuse_graph_init(&f, g));
  ingot_status s = NULL;
  int found[2] = {0, 0};
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    const ir_node *e = &g->nodes[nid];
    if (f.dead[nid] || (e->op != IR_OP_ERF && e->op != IR_OP_TANH)) continue;
    if (g->tensors[e->out[0]].dtype != IR_F32) continue;
    bool tanh_form = e->op == IR_OP_TANH;
    ir_node_id nodes[16];
    int n = 0;
    ir_tensor_id x = tanh_form ? tanh_arg(&f, e, nodes, &n)
                               : erf_arg(&f, e, nodes, &n);
    if (!x || g->tensors[x].dtype != IR_F32) continue;
    nodes[n++] = nid;
    ir_node_id an = fuse_single_reader(&f, e->out[0]);
    if (!an ||
        !fuse_binary_with(g, &g->nodes[an], IR_OP_ADD, e->out[0], 1.0f, 0,
                          true))
      continue;
    nodes[n++] = an;
    ir_node_id last = match_product(&f, g->nodes[an].out[0], x, nodes, &n);
    if (!last) continue;
    /* absorbed = every node but |last| */
    ir_node_id absorbed[16];
    int na = 0;
    for (int i = 0; i < n; i++)
      if (nodes[i] != last) absorbed[na++] = nodes[i];
    ir_attr at = {.name = "approximate", .kind = IR_ATTR_STRING, .s = "tanh"};
    if (opt && opt->log)
      fprintf(opt->log, "fuse-gelu: %d nodes ending in '%s' became Gelu%s\n",
              na + 1, g->nodes[last].name, tanh_form ? " (tanh)" : "");
    s = fuse_rewrite(&f, last, IR_OP_GELU, &x, 1, &at, tanh_form ? 1 : 0,
                     absorbed, na, "fuse-gelu");
    found[tanh_form]++;
  }
  fuse_graph_finish(&f);
  if (!s && opt && opt->log && (found[0] || found[1]))
    fprintf(opt->log, "fuse-gelu: %d Erf-form and %d tanh-form GELU(s)\n",
            found[0], found[1]);
  return s;
}
