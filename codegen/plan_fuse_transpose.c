/* plan_fuse_transpose.c — the planner's fold-transpose (docs/fusion.md):
 * a Transpose of an activation emits no step; a matrix product reads or
 * writes the permuted tensor through element strides instead.
 *
 * The product templates address A, B and Y by row, column and per-batch
 * strides (kernels/generic/matmul.h), so a permuted view of a contiguous
 * buffer is just other strides: if V = Transpose(S, p) and S is stored
 * contiguously, V's element (i0, i1, ...) is at sum ik * cs[p[k]], with
 * cs S's contiguous strides.  Such a view gets cg_tstride (plan.h), shares
 * the buffer's place (canon) and is hidden (it has no TENSOR_MAP entry:
 * its bytes are not in its own order).  lower_matmul.c reads the strides.
 * Three forms, tried in this order for a Transpose T: I -> O:
 *
 *  - consumer: O's only reader is a product M.  O becomes a view of I's
 *    place; M reads that operand with the view's strides.  (Attention's
 *    head split: Q and V perm (0,2,1,3), K perm (0,2,3,1).)
 *  - through one elementwise step: O's only reader is a single-input
 *    elementwise step E (QuantizeLinear or DequantizeLinear with scalar
 *    parameters, or a unary op; its other inputs scalars) whose output Z
 *    is read only by a product M.  An elementwise step does not care about
 *    the order of its elements, so E reads I's buffer as it is (O shares
 *    I's place) and writes Z in I's order; Z is then a view of its own
 *    place and M reads it through the strides.  This is the int8 form:
 *    --int8 puts the float Transpose between the bias Add and the
 *    QuantizeLinear before k_mm_q8_f.  The same per-element arithmetic
 *    in another order: bit-exact.
 *  - producer: I is written by a product M and read only by T.  I becomes
 *    a view of O's place with the inverse permutation: M writes its Y
 *    with those strides (and its epilogue, which walks Y the same way),
 *    so O is complete when M is done.  (Attention's head merge after
 *    P·V.)
 *
 * Legal only when the view is the product's operand alone: O (or Z) has
 * no other reader, I has no other reader in the producer form, and none of
 * I, O, Z is a graph input or output (a session reads those contiguously).
 * Both tensors are in the model's layout with one dtype.  The product must
 * take strides: MatMul (not bf16), MatMulInteger and QLinearMatMul whose
 * B is computed at run time (the packed int8 and AMX templates read a
 * contiguous A); every operand of rank 2 or more.  One more rule keeps it
 * worth doing: a matrix axis of the view has stride 1 (its rows or its
 * columns are contiguous), so no element of the product is a gather over
 * two strided axes.  A Transpose that moves the buffer's last axis into a
 * batch position keeps its step.
 *
 * The GPU templates read the same descriptor (nvptx/dense.c g_mm_f32, the
 * task grid of k_mm_q8), so --target cuda keeps the fold.
 */
#include <string.h>

#include "params.h"
#include "plan_fuse.h"

/* Transpose |n|'s permutation over rank |r| (none given: reversed). */
static bool perm_of(const ir_node *n, int r, int *p) {
  const ir_p_transpose *tp = n->params;
  if (!tp || r < 1 || r > IR_MAX_RANK) return false;
  if (tp->n_perm != 0 && tp->n_perm != r) return false;
  bool seen[IR_MAX_RANK] = {false};
  for (int k = 0; k < r; k++) {
    int64_t v = tp->n_perm == 0 ? r - 1 - k : tp->perm[k];
    if (v < 0 || v >= r || seen[v]) return false;
    seen[v] = true;
    p[k] = (int)v;
  }
  return true;
}

/* Strides of V = Transpose(S, p) with S contiguous of dims |sdims|. */
static void view_strides(const ir_shape *s, const int *p, int64_t *st) {
  int64_t cs[IR_MAX_RANK], run = 1;
  for (int k = s->rank - 1; k >= 0; k--) {
    cs[k] = run;
    run *= s->dims[k];
  }
  for (int k = 0; k < s->rank; k++) st[k] = cs[p[k]];
}

/* A matrix axis (the last two) walks memory with stride 1. */
static bool worth_it(int r, const int64_t *st) {
  return r >= 2 && (st[r - 1] == 1 || st[r - 2] == 1);
}

/* Does product |m| take strides for its operand |t| (or, |t| = 0, for
 * its output)? */
static bool takes_strides(const ir_graph *g, const ir_node *m,
                          ir_tensor_id t) {
  int ib;
  switch (m->op) {
  case IR_OP_MATMUL:
    if (m->compute == IR_BF16) return false;
    ib = 1;
    break;
  case IR_OP_MATMUL_INTEGER: ib = 1; break;
  case IR_OP_QLINEAR_MATMUL: ib = 3; break;
  default: return false;
  }
  if (m->n_in <= ib || m->n_out != 1 || !m->in[0] || !m->in[ib] ||
      !m->out[0] || m->in[0] == m->in[ib])
    return false;
  const ir_tensor *a = &g->tensors[m->in[0]], *b = &g->tensors[m->in[ib]];
  const ir_tensor *y = &g->tensors[m->out[0]];
  if (a->shape.rank < 2 || b->shape.rank < 2 || y->shape.rank < 2 ||
      y->shape.rank - 2 > 6 /* KMM_MAX_BATCH */ || a->layout || b->layout ||
      y->layout)
    return false;
  /* Quantised products with a constant B go to the packed templates. */
  if (m->op != IR_OP_MATMUL && b->role == IR_ROLE_CONSTANT) return false;
  return !t || m->in[0] == t || m->in[ib] == t;
}

/* A step that maps element i of its one tensor input to element i of its
 * output, whatever their order: its other inputs are scalars. */
static bool order_free(const ir_graph *g, const ir_node *e, ir_tensor_id t) {
  switch (e->op) {
  case IR_OP_QUANTIZE_LINEAR: case IR_OP_DEQUANTIZE_LINEAR:
  case IR_OP_ABS: case IR_OP_NEG: case IR_OP_SQRT: case IR_OP_EXP:
  case IR_OP_LOG: case IR_OP_TANH: case IR_OP_ERF: case IR_OP_SIGMOID:
  case IR_OP_RELU: case IR_OP_GELU: case IR_OP_CLIP: case IR_OP_IDENTITY:
  case IR_OP_CAST:
    break;
  default:
    return false;
  }
  if (e->n_out != 1 || !e->out[0] || e->n_in < 1 || e->in[0] != t)
    return false;
  for (int k = 1; k < e->n_in; k++)
    if (e->in[k] && (e->in[k] == t ||
                     ir_shape_numel(&g->tensors[e->in[k]].shape) != 1))
      return false;
  const ir_tensor *ti = &g->tensors[t], *to = &g->tensors[e->out[0]];
  return ir_shape_equal(&ti->shape, &to->shape) && !ti->layout &&
         !to->layout;
}

/* An activation a step writes, in the model's layout, not a graph input
 * or output, with no fusion of its place yet. */
static bool plain(const cg_fuse_state *st, ir_tensor_id t) {
  const ir_tensor *x = &st->g->tensors[t];
  return x->role == IR_ROLE_ACTIVATION && !x->is_output && !x->layout &&
         !st->f->hidden[t] && !st->f->tstride[t].on;
}

static void set_view(cg_fusion *f, ir_tensor_id t, int r, const int64_t *s) {
  f->tstride[t].on = 1;
  for (int k = 0; k < r; k++) f->tstride[t].st[k] = s[k];
  f->hidden[t] = true;
}

/* What one fold did, for the log and the note. */
typedef struct tp_fold {
  ir_node_id m;  /* the product that reads or writes through the strides */
  ir_node_id e;  /* the elementwise step in between, or 0 */
  ir_tensor_id z; /* e's output */
  bool writes;   /* producer form */
} tp_fold;

/* Consumer: O is read only by a product; O becomes a view of I's place. */
static bool fold_consumer(cg_fuse_state *st, ir_tensor_id ti, ir_tensor_id to,
                          const int *p, tp_fold *out) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  int r = g->tensors[ti].shape.rank;
  int64_t s[IR_MAX_RANK];
  ir_node_id mid = st->reader[to];
  if (st->uses[to] != 1 || f->skip[mid] ||
      !takes_strides(g, &g->nodes[mid], to))
    return false;
  view_strides(&g->tensors[ti].shape, p, s);
  if (!worth_it(r, s)) return false;
  f->canon[to] = ti;
  set_view(f, to, r, s);
  st->writer[to] = st->writer[ti];
  out->m = mid;
  return true;
}

/* Through an elementwise step E read only by a product: E reads I's buffer
 * as it is (O shares I's place) and writes Z in I's order, a view of Z's
 * own place. */
static bool fold_through(cg_fuse_state *st, ir_tensor_id ti, ir_tensor_id to,
                         const int *p, tp_fold *out) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  int r = g->tensors[ti].shape.rank;
  int64_t s[IR_MAX_RANK];
  ir_node_id eid = st->reader[to];
  if (st->uses[to] != 1 || f->skip[eid] || !order_free(g, &g->nodes[eid], to))
    return false;
  ir_tensor_id z = g->nodes[eid].out[0];
  ir_node_id mid = st->reader[z];
  if (!plain(st, z) || st->uses[z] != 1 || f->skip[mid] ||
      !takes_strides(g, &g->nodes[mid], z))
    return false;
  view_strides(&g->tensors[ti].shape, p, s);
  if (!worth_it(r, s)) return false;
  f->canon[to] = ti;
  f->hidden[to] = true;
  st->writer[to] = st->writer[ti];
  set_view(f, z, r, s);
  f->tstride[z].flat = eid;
  out->m = mid;
  out->e = eid;
  out->z = z;
  return true;
}

/* Producer: I is written by a product (the end of its epilogue chain) and
 * read only by the Transpose; I becomes a view of O's place with the
 * inverse permutation, and so does every tensor of the chain. */
static bool fold_producer(cg_fuse_state *st, ir_tensor_id ti, ir_tensor_id to,
                          const int *p, tp_fold *out) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  const ir_tensor *I = &g->tensors[ti];
  int r = I->shape.rank, inv[IR_MAX_RANK];
  int64_t s[IR_MAX_RANK];
  ir_node_id mid = st->writer[ti];
  if (st->uses[ti] != 1 || !takes_strides(g, &g->nodes[mid], 0)) return false;
  for (int k = 0; k < r; k++) inv[p[k]] = k;
  view_strides(&g->tensors[to].shape, inv, s);
  if (!worth_it(r, s)) return false;
  ir_tensor_id u = g->nodes[mid].out[0];
  while (u != ti) { /* an epilogue chain: hidden, one reader each */
    if (!f->hidden[u] || f->tstride[u].on || st->uses[u] != 1 ||
        !ir_shape_equal(&g->tensors[u].shape, &I->shape))
      return false;
    u = g->nodes[st->reader[u]].out[0];
  }
  for (u = g->nodes[mid].out[0]; u != ti; u = g->nodes[st->reader[u]].out[0])
    set_view(f, u, r, s);
  f->canon[ti] = to;
  set_view(f, ti, r, s);
  st->writer[to] = mid;
  out->m = mid;
  out->writes = true;
  return true;
}

ingot_status cg_fuse_transpose(cg_fuse_state *st, ir_node_id nid, bool *hit) {
  ir_graph *g = st->g;
  cg_fusion *f = st->f;
  ir_node *x = &g->nodes[nid];
  *hit = false;
  if (x->op != IR_OP_TRANSPOSE || f->skip[nid] || x->n_in < 1 ||
      x->n_out != 1 || !x->in[0] || !x->out[0])
    return NULL;
  ir_tensor_id ti = x->in[0], to = x->out[0];
  const ir_tensor *I = &g->tensors[ti], *O = &g->tensors[to];
  int r = I->shape.rank, p[IR_MAX_RANK];
  if (r < 2 || O->shape.rank != r || I->dtype != O->dtype ||
      !perm_of(x, r, p) || !plain(st, ti) || !plain(st, to) ||
      !st->writer[ti])
    return NULL;
  tp_fold fd = {0, 0, 0, false};
  if (!fold_consumer(st, ti, to, p, &fd) &&
      !fold_through(st, ti, to, p, &fd) && !fold_producer(st, ti, to, p, &fd))
    return NULL;
  f->skip[nid] = true;
  *hit = true;
  ir_node *m = &g->nodes[fd.m];
  const char *mop = ir_op_get(m->op)->name;
  if (st->log && fd.e)
    fprintf(st->log,
            "fuse: Transpose '%s' folded: %s '%s' reads '%s' in place and %s "
            "'%s' reads '%s' through the permutation (fold-transpose)\n",
            x->name, ir_op_get(g->nodes[fd.e].op)->name, g->nodes[fd.e].name,
            I->name, mop, m->name, g->tensors[fd.z].name);
  else if (st->log && fd.writes)
    fprintf(st->log,
            "fuse: Transpose '%s' folded: %s '%s' writes '%s' through the "
            "permutation (fold-transpose)\n",
            x->name, mop, m->name, O->name);
  else if (st->log)
    fprintf(st->log,
            "fuse: Transpose '%s' folded: %s '%s' reads '%s' through the "
            "permutation (fold-transpose)\n",
            x->name, mop, m->name, I->name);
  /* Noted on the step that reads or writes through the permutation. */
  return cg_fuse_note(g, m, "fold-transpose", x);
}
