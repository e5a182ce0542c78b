/* test_qdq_fold.c — the qdq-fold pass on small QDQ models, one per row of
 * docs/int8.md's table (made by make_qdq_models.py at test time).
 *
 * For every DIR/NAME.onnx: runs fold, simplify, static-shapes and
 * qdq-fold with the verifier on, then checks
 *  - the op counts NAME.expect lists (the pattern became the int8 op, the
 *    float op and its Q/DQ are gone, or a non-matching pattern stayed);
 *  - the folded graph's reference output against the unfolded QDQ graph's:
 *    at most "tol" output quantisation steps apart (the int8 op rounds its
 *    exact integer sum once; the QDQ graph rounds a float sum), and the
 *    same step grid (the folded result is a dequantised code too);
 *  - with the full pipeline (layout), the graph still verifies.
 * Budget: well under a second under ASan (tiny models).
 *
 * usage: test_qdq_fold DIR NAME...
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "passes.h"

static int count_op(const ir_graph *g, const char *op) {
  int c = 0;
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++)
    c += strcmp(ir_op_get(g->nodes[nid].op)->name, op) == 0;
  return c;
}

/* Scale of the DequantizeLinear producing the graph output. */
static float out_scale(const ir_graph *g) {
  const ir_tensor *t = &g->tensors[g->outputs[0]];
  if (!t->producer) return 0;
  const ir_node *n = &g->nodes[t->producer];
  if (n->op != IR_OP_DEQUANTIZE_LINEAR) return 0;
  return *(const float *)g->tensors[n->in[1]].data;
}

static void check_case(const char *dir, const char *name) {
  char path[1024], buf[256];
  snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
  ir_graph *g = NULL, *h = NULL;
  CHECK_OK(ir_import_onnx_file(path, NULL, &g));
  CHECK_OK(ir_import_onnx_file(path, NULL, &h));
  if (!g || !h) return;
  ir_value in[2] = {{0}}, a = {0}, b = {0};
  for (uint32_t i = 0; i < g->n_inputs && i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s.input%u.npy", dir, name, i);
    CHECK_OK(ir_read_npy(path, &in[i]));
  }
  float so = out_scale(g);
  CHECK_OK(ir_interp_run(g, in, &a, NULL));
  pass_options po = {.verify = true, .nhwc = true};
  CHECK_OK(pass_fold(h, &po));
  CHECK_OK(pass_simplify(h, &po));
  CHECK_OK(pass_static_shapes(h, &po));
  CHECK_OK(pass_qdq_fold(h, &po));
  CHECK_OK(ir_verify(h));
  CHECK_OK(ir_interp_run(h, in, &b, NULL));

  snprintf(path, sizeof path, "%s/%s.expect", dir, name);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  double tol = 0;
  while (f && fgets(buf, sizeof buf, f)) {
    char op[128];
    double v;
    if (sscanf(buf, "%127s %lf", op, &v) != 2) continue;
    if (strcmp(op, "tol") == 0) {
      tol = v;
      continue;
    }
    int got = count_op(h, op);
    if (got != (int)v) {
      fprintf(stderr, "%s: %d %s node(s) after qdq-fold, expected %d\n",
              name, got, op, (int)v);
      check_failures++;
    }
  }
  if (f) fclose(f);

  CHECK(so > 0);
  size_t n = a.data && b.data ? ir_shape_numel(&a.shape) : 0;
  CHECK(n > 0 && ir_shape_numel(&b.shape) == n);
  double worst = 0;
  for (size_t i = 0; i < n && so > 0; i++) {
    double x = ((float *)a.data)[i], y = ((float *)b.data)[i];
    double steps = fabs(x - y) / so;
    if (steps > worst) worst = steps;
  }
  if (worst > tol + 1e-3) {
    fprintf(stderr, "%s: folded output differs by %.3f steps (allowed %g)\n",
            name, worst, tol);
    check_failures++;
  }
  CHECK_OK(pass_layout(h, &po));
  CHECK_OK(ir_verify(h));
  printf("%s: %u -> %u nodes, max difference %.2f step(s)\n", name,
         g->n_nodes - 1, h->n_nodes - 1, worst);
  ir_value_free(&a);
  ir_value_free(&b);
  for (int i = 0; i < 2; i++) ir_value_free(&in[i]);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_qdq_fold DIR NAME...\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) check_case(argv[1], argv[i]);
  return check_report("test_qdq_fold");
}
