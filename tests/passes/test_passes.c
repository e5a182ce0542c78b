/* test_passes.c — the engine passes keep a graph's meaning.
 *
 * For each sample model: fold + fold-bn + simplify + static-shapes must
 * leave a graph whose reference outputs match the original's within 1e-5
 * relative (folding uses the reference's own eval and simplification only
 * rewires, so they are exact; folding BatchNormalization into Conv weights
 * rounds differently).  The layout pass
 * is checked structurally: every conv/pool 4-D activation is NHWC, every
 * other op reads model-layout tensors, and the casts it inserts are
 * Identity to the reference, so outputs still match exactly.
 *
 * usage: test_passes MODEL INPUT.npy [MODEL INPUT.npy ...]
 */
#include <math.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "passes.h"

static void run(ir_graph *g, const ir_value *in, ir_value *out) {
  CHECK_OK(ir_interp_run(g, in, out, NULL));
}

static bool is_spatial(ir_op op) {
  return op == IR_OP_CONV || op == IR_OP_AVERAGE_POOL ||
         op == IR_OP_MAX_POOL || op == IR_OP_GLOBAL_AVERAGE_POOL ||
         op == IR_OP_GLOBAL_MAX_POOL;
}

static void check_model(const char *model, const char *input) {
  ir_graph *g = NULL, *h = NULL;
  CHECK_OK(ir_import_onnx_file(model, NULL, &g));
  CHECK_OK(ir_import_onnx_file(model, NULL, &h));
  if (!g || !h) return;
  ir_value in = {0}, a[4] = {{0}}, b[4] = {{0}};
  CHECK_OK(ir_read_npy(input, &in));
  run(g, &in, a);
  uint32_t nodes_before = h->n_nodes - 1;
  pass_options po = {.verify = true, .nhwc = true};
  CHECK_OK(pass_fold(h, &po));
  CHECK_OK(pass_fold_bn(h, &po));
  CHECK_OK(ir_verify(h));
  CHECK_OK(pass_simplify(h, &po));
  CHECK_OK(pass_static_shapes(h, &po));
  CHECK_OK(ir_verify(h));
  run(h, &in, b);
  for (uint32_t k = 0; k < g->n_outputs && k < 4; k++) {
    CHECK(a[k].data && b[k].data);
    size_t n = a[k].data && b[k].data ? ir_shape_numel(&a[k].shape) : 0;
    for (size_t i = 0; i < n; i++) {
      double x = ((float *)a[k].data)[i], y = ((float *)b[k].data)[i];
      if (!(fabs(x - y) <= 1e-5 * fmax(1.0, fabs(x)))) {
        fprintf(stderr, "%s: output %u[%zu]: %.9g after passes, %.9g before\n",
                model, k, i, y, x);
        check_failures++;
        break;
      }
    }
    ir_value_free(&b[k]);
  }
  CHECK_OK(pass_layout(h, &po));
  CHECK_OK(ir_verify(h));
  int casts = 0;
  for (ir_node_id nid = 1; nid < h->n_nodes; nid++) {
    const ir_node *n = &h->nodes[nid];
    casts += n->op == IR_OP_LAYOUT_CAST;
    if (is_spatial(n->op) && h->tensors[n->in[0]].shape.rank == 4) {
      CHECK(h->tensors[n->in[0]].layout == 1);
      CHECK(h->tensors[n->out[0]].layout == 1);
    }
    if (!is_spatial(n->op) && n->op != IR_OP_LAYOUT_CAST &&
        !(ir_op_get(n->op)->flags & IR_OPF_ELEMENTWISE))
      for (int k = 0; k < n->n_in; k++)
        if (n->in[k]) CHECK(h->tensors[n->in[k]].layout == 0);
  }
  printf("%s: %u nodes -> %u after fold/simplify/layout, %d layout cast(s)\n",
         model, nodes_before, h->n_nodes - 1, casts);
  for (uint32_t k = 0; k < g->n_outputs && k < 4; k++) ir_value_free(&a[k]);
  ir_value_free(&in);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) check_model(argv[i], argv[i + 1]);
  return check_report("test_passes");
}
