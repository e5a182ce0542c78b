/* plan_fuse.c — the planner's fusions: which nodes become part of another
 * node's step, and which tensors share one arena place (plan.h,
 * docs/fusion.md).  They run after the pass pipeline, on the graph the
 * engine computes, and change no node: the graph keeps its meaning for
 * the reference interpreter (and --dump-ir), the plan simply emits fewer
 * steps.  `ingot build --no-fuse` turns them off.
 *
 * Epilogues.  A float32 step that writes one tensor t (Conv,
 * ConvTranspose, MatMul, Gemm, and the single-step elementwise ops) absorbs
 * the elementwise node that is t's only reader, when that node is a unary
 * float op (Relu, Clip with constant bounds, Sigmoid, Tanh, Gelu, ...) or
 * a binary op with a constant scalar (x * 0.125, x + 1, ...), writes t's
 * shape and layout, and t is not a graph output; then the same for that
 * node's output, up to KEPI_MAX ops (kernels/generic/epilogue.h).  A
 * MatMul's first reader may also be an Add of a constant row of N values
 * (the bias): it becomes the product's C operand (y = A·B + C).  The
 * producer then writes the last node's output directly; t and the
 * intermediate tensors are never stored (they get no TENSOR_MAP entry).
 * The templates evaluate each absorbed op with the formula of its own
 * step, so fused and unfused engines agree bit for bit.
 *
 * Reshape folding.  Reshape, Flatten, Squeeze and Unsqueeze of an
 * activation stored in the model's layout move no data: the output shares
 * the input's arena place (its lifetime is the union of both), and the
 * node emits no step.  Graph inputs and outputs keep their own places (a
 * session reads and writes them by name).
 *
 * Every fusion is listed in the --verbose log with node names and recorded
 * in the producing node's |fused| lines, so `ingot inspect` names it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_match.h" /* fuse_const_scalar */
#include "generic/elementwise.h"
#include "params.h"
#include "plan.h"
#include "plan_fuse.h"

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

static bool is_f32(const ir_graph *g, ir_tensor_id t) {
  return t && g->tensors[t].dtype == IR_F32;
}

/* The k_ew_unary op of a unary float node absorbed as an epilogue, or -1
 * (Sin/Cos take their own path in the template, Selu needs gamma). */
static int epi_unary_op(const ir_node *n) {
  const ir_p_activation *p = n->params;
  switch (n->op) {
  case IR_OP_ABS: return KEW_ABS;
  case IR_OP_NEG: return KEW_NEG;
  case IR_OP_CEIL: return KEW_CEIL;
  case IR_OP_FLOOR: return KEW_FLOOR;
  case IR_OP_ROUND: return KEW_ROUND;
  case IR_OP_SIGN: return KEW_SIGN;
  case IR_OP_SQRT: return KEW_SQRT;
  case IR_OP_EXP: return KEW_EXP;
  case IR_OP_LOG: return KEW_LOG;
  case IR_OP_TANH: return KEW_TANH;
  case IR_OP_ERF: return KEW_ERF;
  case IR_OP_SIGMOID: return KEW_SIGMOID;
  case IR_OP_RELU: return KEW_RELU;
  case IR_OP_RECIPROCAL: return KEW_RECIPROCAL;
  case IR_OP_SOFTPLUS: return KEW_SOFTPLUS;
  case IR_OP_SOFTSIGN: return KEW_SOFTSIGN;
  case IR_OP_ELU: return p ? KEW_ELU : -1;
  case IR_OP_LEAKY_RELU: return p ? KEW_LEAKY_RELU : -1;
  case IR_OP_HARD_SIGMOID: return p ? KEW_HARD_SIGMOID : -1;
  case IR_OP_HARD_SWISH: return KEW_HARD_SWISH;
  case IR_OP_GELU: return !p ? -1 : p->alpha != 0 ? KEW_GELU_TANH : KEW_GELU;
  default: return -1;
  }
}

static int epi_binary_op(ir_op op) {
  switch (op) {
  case IR_OP_ADD: return KEW_ADD;
  case IR_OP_SUB: return KEW_SUB;
  case IR_OP_MUL: return KEW_MUL;
  case IR_OP_DIV: return KEW_DIV;
  default: return -1;
  }
}


/* Does node |y|, reading |t|, fit an epilogue?  Fills *op. */
static bool epi_of(const ir_graph *g, const ir_node *y, ir_tensor_id t,
                   kepi_op *op) {
  if (!y->n_out || !is_f32(g, y->out[0])) return false;
  const ir_tensor *tt = &g->tensors[t], *ty = &g->tensors[y->out[0]];
  if (!ir_shape_equal(&tt->shape, &ty->shape) || tt->layout != ty->layout)
    return false;
  memset(op, 0, sizeof *op);
  if (y->op == IR_OP_CLIP) {
    float lo = -INFINITY, hi = INFINITY;
    if (y->in[0] != t) return false;
    if (y->n_in > 1 && y->in[1] && !fuse_const_scalar(g, y->in[1], &lo))
      return false;
    if (y->n_in > 2 && y->in[2] && !fuse_const_scalar(g, y->in[2], &hi))
      return false;
    op->kind = KEPI_UNARY;
    op->op = KEW_CLIP;
    op->a = lo;
    op->b = hi;
    return true;
  }
  int u = epi_unary_op(y);
  if (u >= 0 && y->n_in == 1 && y->in[0] == t) {
    const ir_p_activation *p = y->params;
    op->kind = KEPI_UNARY;
    op->op = u;
    if (p && u != KEW_GELU && u != KEW_GELU_TANH) {
      op->a = p->alpha;
      op->b = p->beta;
    }
    return true;
  }
  int b = epi_binary_op(y->op);
  if (b < 0 || y->n_in != 2) return false;
  float s;
  if (y->in[0] == t && y->in[1] != t && fuse_const_scalar(g, y->in[1], &s)) {
    op->b = 0;
  } else if (y->in[1] == t && y->in[0] != t &&
             fuse_const_scalar(g, y->in[0], &s)) {
    op->b = 1;
  } else {
    return false;
  }
  op->kind = KEPI_SCALAR;
  op->op = b;
  op->a = s;
  return true;
}

/* Ops whose lowering is one float32 step with an epilogue field. */
static bool epi_producer(const ir_graph *g, const ir_node *n) {
  if (n->n_out != 1 || !is_f32(g, n->out[0])) return false;
  switch (n->op) {
  case IR_OP_CONV:
  case IR_OP_CONV_TRANSPOSE:
  case IR_OP_MATMUL:
  case IR_OP_GEMM:
    return is_f32(g, n->in[0]);
  case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV:
  case IR_OP_PRELU: case IR_OP_POW: case IR_OP_MAX: case IR_OP_MIN:
    return n->n_in == 2 && is_f32(g, n->in[0]) && is_f32(g, n->in[1]);
  case IR_OP_CLIP:
    return is_f32(g, n->in[0]);
  default:
    return epi_unary_op(n) >= 0 && is_f32(g, n->in[0]);
  }
}

/* A MatMul's bias: Add(t, C) or Add(C, t) with C a constant float32 row
 * of N values (shape [N] or [1, ..., 1, N]) and the output t's shape. */
static ir_tensor_id mm_bias(const ir_graph *g, const ir_node *y,
                            ir_tensor_id t) {
  if (y->op != IR_OP_ADD || y->n_in != 2 || !is_f32(g, y->out[0]))
    return 0;
  ir_tensor_id c = y->in[0] == t ? y->in[1] : y->in[1] == t ? y->in[0] : 0;
  if (!c || c == t) return 0;
  const ir_tensor *tc = &g->tensors[c], *tt = &g->tensors[t];
  if (tc->role != IR_ROLE_CONSTANT || !tc->data || tc->dtype != IR_F32 ||
      tt->shape.rank < 1 || tc->shape.rank > tt->shape.rank ||
      !ir_shape_equal(&tt->shape, &g->tensors[y->out[0]].shape))
    return 0;
  int64_t n = tt->shape.dims[tt->shape.rank - 1];
  if (tc->shape.rank == 0 || tc->shape.dims[tc->shape.rank - 1] != n ||
      (int64_t)ir_shape_numel(&tc->shape) != n)
    return 0;
  return c;
}

ingot_status cg_fuse_note(ir_graph *g, ir_node *w, const char *pass,
                          const ir_node *y) {
  size_t had = w->fused ? strlen(w->fused) : 0;
  size_t len = had + strlen(pass) + strlen(ir_op_get(y->op)->name) +
               strlen(y->name) + 4;
  char *s = ir_arena_alloc(&g->arena, len);
  if (!s) return oom();
  snprintf(s, len, "%s%s%s %s %s", had ? w->fused : "", had ? "\n" : "",
           pass, ir_op_get(y->op)->name, y->name);
  w->fused = s;
  return NULL;
}

static ir_tensor_id root(const ir_tensor_id *canon, ir_tensor_id t) {
  while (canon[t] != t) t = canon[t];
  return t;
}

void cg_fusion_release(cg_fusion *f) {
  free(f->canon);
  free(f->hidden);
  free(f->skip);
  free(f->epi);
  free(f->bias);
  free(f->canon_off);
  free(f->mask_x);
  free(f->mask_m);
  free(f->pitch);
  free(f->sliced);
  memset(f, 0, sizeof *f);
}

ingot_status cg_fuse_plan(ir_graph *g, const pass_options *po,
                          cg_fusion *f) {
  memset(f, 0, sizeof *f);
  uint32_t nt = g->n_tensors, nn = g->n_nodes;
  f->canon = malloc(nt * sizeof *f->canon);
  f->hidden = calloc(nt, sizeof *f->hidden);
  f->skip = calloc(nn + 1, sizeof *f->skip);
  f->epi = calloc(nn + 1, sizeof *f->epi);
  f->bias = calloc(nn + 1, sizeof *f->bias);
  f->canon_off = calloc(nt ? nt : 1, sizeof *f->canon_off);
  f->mask_x = calloc(nn + 1, sizeof *f->mask_x);
  f->mask_m = calloc(nn + 1, sizeof *f->mask_m);
  f->pitch = calloc(nt ? nt : 1, sizeof *f->pitch);
  f->sliced = calloc(nt ? nt : 1, sizeof *f->sliced);
  uint32_t *uses = calloc(nt, sizeof *uses);
  ir_node_id *reader = calloc(nt, sizeof *reader);
  ir_node_id *writer = calloc(nt, sizeof *writer);
  if (!f->canon || !f->hidden || !f->skip || !f->epi || !f->bias ||
      !f->canon_off || !f->mask_x || !f->mask_m || !f->pitch ||
      !f->sliced || !uses || !reader || !writer) {
    free(uses), free(reader), free(writer);
    cg_fusion_release(f);
    return oom();
  }
  for (ir_tensor_id t = 0; t < nt; t++) f->canon[t] = t;
  ingot_status s = NULL;
  if (po && po->no_fuse) goto done;
  for (uint32_t i = 0; i < g->n_outputs; i++) uses[g->outputs[i]] += 2;
  for (ir_node_id nid = 1; nid < nn; nid++) {
    const ir_node *n = &g->nodes[nid];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k]) {
        uses[n->in[k]]++;
        reader[n->in[k]] = nid;
      }
  }
  int n_epi = 0, n_alias = 0, n_mask = 0, n_concat = 0;
  FILE *log = po ? po->log : NULL;
  bool *concat_buf = calloc(nt ? nt : 1, sizeof *concat_buf);
  if (!concat_buf) {
    s = oom();
    goto done;
  }
  cg_fuse_state st = {g, f, uses, reader, writer, log, concat_buf};
  for (ir_node_id nid = 1; !s && nid < nn; nid++) {
    ir_node *x = &g->nodes[nid];
    if (f->skip[nid]) continue;
    for (int k = 0; k < x->n_out; k++)
      if (x->out[k]) writer[x->out[k]] = nid;

    /* Reshape folding. */
    if ((x->op == IR_OP_RESHAPE || x->op == IR_OP_FLATTEN ||
         x->op == IR_OP_SQUEEZE || x->op == IR_OP_UNSQUEEZE) &&
        x->in[0] && x->out[0]) {
      const ir_tensor *ti = &g->tensors[x->in[0]];
      const ir_tensor *to = &g->tensors[x->out[0]];
      if (ti->role == IR_ROLE_ACTIVATION && !ti->is_output &&
          !to->is_output && ti->layout == 0 && to->layout == 0 &&
          ti->dtype == to->dtype && !f->hidden[x->in[0]] &&
          writer[x->in[0]]) {
        f->canon[x->out[0]] = root(f->canon, x->in[0]);
        f->skip[nid] = true;
        writer[x->out[0]] = writer[x->in[0]];
        s = cg_fuse_note(g, &g->nodes[writer[x->in[0]]], "fold-reshape", x);
        if (log)
          fprintf(log, "fuse: %s '%s' folded: its output shares '%s''s "
                       "place\n",
                  ir_op_get(x->op)->name, x->name, ti->name);
        n_alias++;
      }
      continue;
    }

    /* An attention mask's Add runs in the Softmax step. */
    bool hit = false;
    s = cg_fuse_softmax_mask(&st, nid, &hit);
    n_mask += hit;
    if (s || hit) continue;

    /* Epilogues. */
    if (!epi_producer(g, x)) continue;
    ir_tensor_id t = x->out[0];
    kepi *e = &f->epi[nid];
    while (!s && e->n < KEPI_MAX && !g->tensors[t].is_output &&
           uses[t] == 1) {
      ir_node_id yid = reader[t];
      ir_node *y = &g->nodes[yid];
      if (f->skip[yid]) break;
      if (x->op == IR_OP_MATMUL && e->n == 0 && !f->bias[nid]) {
        ir_tensor_id c = mm_bias(g, y, t);
        if (c) {
          f->bias[nid] = c;
          goto absorb;
        }
      }
      if (!epi_of(g, y, t, &e->ops[e->n])) break;
      e->n++;
    absorb:
      f->skip[yid] = true;
      f->hidden[t] = true;
      writer[y->out[0]] = nid;
      s = cg_fuse_note(g, x, "fuse-epilogue", y);
      if (log)
        fprintf(log, "fuse: %s '%s' runs in the epilogue of %s '%s'\n",
                ir_op_get(y->op)->name, y->name, ir_op_get(x->op)->name,
                x->name);
      n_epi++;
      t = y->out[0];
    }
    /* Every hidden tensor of the chain lives in the last one's place. */
    for (ir_tensor_id u = x->out[0]; u != t && f->hidden[u];) {
      ir_tensor_id next = g->nodes[reader[u]].out[0];
      f->canon[u] = t;
      u = next;
    }
  }
  /* Concats last: their inputs' places are final by now. */
  for (ir_node_id nid = 1; !s && nid < nn; nid++) {
    bool hit = false;
    s = cg_fuse_concat(&st, nid, &hit);
    n_concat += hit;
  }
  int n_inplace = 0;
  if (!s) s = cg_fuse_inplace(&st, &n_inplace);
  free(concat_buf);
  /* Flatten the canon chains (a slice of a slice, a reshape of a slice):
   * every tensor points at the root place with its total offset, and the
   * pixel pitch of the outermost strided slice on the way (the ones below
   * it have the pitch of the row they sit in: plan_fuse_concat.c). */
  for (ir_tensor_id t = 1; t < nt; t++) {
    ir_tensor_id r = t;
    int64_t off = 0, pitch = f->pitch[t];
    while (f->canon[r] != r) {
      off += f->canon_off[r];
      r = f->canon[r];
      if (f->pitch[r]) pitch = f->pitch[r];
    }
    f->canon[t] = r;
    f->canon_off[t] = off;
    f->pitch[t] = pitch;
  }
  if (log && (n_epi || n_alias || n_mask || n_concat || n_inplace))
    fprintf(log,
            "fuse: %d node(s) run in a producer's epilogue, %d reshape(s) "
            "folded, %d mask Add(s) run in a Softmax, %d concat(s) folded, "
            "%d step(s) in place (--no-fuse turns these off)\n",
            n_epi, n_alias, n_mask, n_concat, n_inplace);
done:
  free(uses), free(reader), free(writer);
  if (s) cg_fusion_release(f);
  return s;
}
