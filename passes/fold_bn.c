/* fold_bn.c — BatchNormalization (inference) folded into the preceding
 * Conv's weights and bias.
 *
 * Requires: fold (so BN's scale/bias/mean/var are constants).  Provides: a
 * Conv whose output fed only an inference BN now computes the BN's output
 * itself:  w'[o] = w[o] * g[o] / sqrt(v[o] + eps),
 *          b'[o] = (b[o] - m[o]) * g[o] / sqrt(v[o] + eps) + beta[o].
 * The arithmetic is done in double and rounded once to float32, so the
 * folded Conv differs from Conv-then-BN by float rounding only (DESIGN §4;
 * tests compare engines with the fp32 tolerance).  The Conv's |fused| list
 * gains the BN (ir.h), so the engine's provenance names both nodes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "passes.h"

static bool const_f32(const ir_graph *g, ir_tensor_id id, int64_t n) {
  if (!id) return false;
  const ir_tensor *t = &g->tensors[id];
  return t->role == IR_ROLE_CONSTANT && t->dtype == IR_F32 &&
         (int64_t)ir_shape_numel(&t->shape) == n;
}

ingot_status pass_fold_bn(ir_graph *g, const pass_options *opt) {
  uint32_t *uses = calloc(g->n_tensors, sizeof *uses);
  bool *dead = calloc(g->n_nodes + 1, sizeof *dead);
  if (!uses || !dead) {
    free(uses);
    free(dead);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  }
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    for (int k = 0; k < g->nodes[nid].n_in; k++) uses[g->nodes[nid].in[k]]++;
  for (uint32_t i = 0; i < g->n_outputs; i++) uses[g->outputs[i]]++;
  ingot_status s = NULL;
  int folded = 0;
  for (ir_node_id nid = 1; !s && nid < g->n_nodes; nid++) {
    ir_node *bn = &g->nodes[nid];
    if (bn->op != IR_OP_BATCH_NORM || bn->n_out != 1) continue;
    const ir_p_norm *bp = bn->params;
    if (bp && bp->training_mode) continue;
    ir_tensor_id x = bn->in[0];
    ir_node_id cid = g->tensors[x].producer;
    if (!cid || uses[x] != 1 || g->tensors[x].is_output) continue;
    ir_node *conv = &g->nodes[cid];
    if (conv->op != IR_OP_CONV || conv->n_out != 1) continue;
    const ir_tensor *w = &g->tensors[conv->in[1]];
    if (w->role != IR_ROLE_CONSTANT || w->dtype != IR_F32 ||
        g->tensors[x].dtype != IR_F32)
      continue;
    int64_t oc = w->shape.dims[0];
    bool has_b = conv->n_in > 2 && conv->in[2];
    if (!const_f32(g, bn->in[1], oc) || !const_f32(g, bn->in[2], oc) ||
        !const_f32(g, bn->in[3], oc) || !const_f32(g, bn->in[4], oc) ||
        (has_b && !const_f32(g, conv->in[2], oc)))
      continue;
    const float *gamma = g->tensors[bn->in[1]].data;
    const float *beta = g->tensors[bn->in[2]].data;
    const float *mean = g->tensors[bn->in[3]].data;
    const float *var = g->tensors[bn->in[4]].data;
    const float *b0 = has_b ? g->tensors[conv->in[2]].data : NULL;
    double eps = bp ? bp->epsilon : 1e-5;
    size_t per = ir_shape_numel(&w->shape) / (size_t)oc;
    ir_value nw = {IR_F32, w->shape, NULL, false};
    ir_value nb = {IR_F32, {1, {oc}}, NULL, false};
    s = ir_value_alloc(&nw);
    if (!s) s = ir_value_alloc(&nb);
    if (s) {
      ir_value_free(&nw);
      break;
    }
    for (int64_t o = 0; o < oc; o++) {
      double k = (double)gamma[o] / sqrt((double)var[o] + eps);
      for (size_t i = 0; i < per; i++)
        ((float *)nw.data)[o * per + i] =
            (float)((double)((const float *)w->data)[o * per + i] * k);
      ((float *)nb.data)[o] =
          (float)(((b0 ? (double)b0[o] : 0.0) - mean[o]) * k + beta[o]);
    }
    ir_tensor_id wid, bid;
    char hint[300];
    snprintf(hint, sizeof hint, "%s_bnfold", *bn->name ? bn->name : "bn");
    s = ir_graph_add_constant(g, NULL, hint, &nw, &wid);
    if (!s) s = ir_graph_add_constant(g, NULL, hint, &nb, &bid);
    ir_value_free(&nw);
    ir_value_free(&nb);
    if (s) break;
    conv = &g->nodes[cid];
    bn = &g->nodes[nid];
    if (conv->n_in < 3) {
      ir_tensor_id *in = ir_arena_calloc(&g->arena, 3, sizeof *in);
      if (!in) {
        s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      memcpy(in, conv->in, conv->n_in * sizeof *in);
      conv->in = in;
      conv->n_in = 3;
    }
    conv->in[1] = wid;
    conv->in[2] = bid;
    size_t had = conv->fused ? strlen(conv->fused) : 0;
    size_t len = had + strlen(bn->name) + 40;
    char *fused = ir_arena_alloc(&g->arena, len);
    if (!fused) {
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    snprintf(fused, len, "%s%sfold-bn BatchNormalization %s",
             had ? conv->fused : "", had ? "\n" : "", bn->name);
    conv->fused = fused;
    /* The conv now writes the BN's output tensor; the dead BN is left
     * "writing" the orphaned conv output, whose producer removal clears. */
    ir_tensor_id y = bn->out[0];
    conv->out[0] = y;
    bn->out[0] = x;
    g->tensors[y].producer = cid;
    dead[nid] = true;
    folded++;
  }
  if (!s) ir_graph_remove_dead(g, dead);
  free(uses);
  free(dead);
  if (!s && opt && opt->log && folded)
    fprintf(opt->log, "fold-bn: %d BatchNormalization(s) folded into Conv\n",
            folded);
  return s;
}
