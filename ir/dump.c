/* dump.c — a readable, stable text form of a graph:
 *
 *   graph "name" opset 13 (source.onnx)
 *   input  %x: float32[1x3x224x224]
 *   const  %w: float32[64x3x7x7]
 *   node conv1 = Conv(%x, %w, %b) -> %y: float32[1x64x112x112]  {group=1, ...}
 *   output %y
 */
#include <stdio.h>

#include "ir.h"

static void print_attr(FILE *f, const ir_attr *a) {
  fprintf(f, "%s=", a->name);
  switch (a->kind) {
  case IR_ATTR_FLOAT: fprintf(f, "%g", a->f); break;
  case IR_ATTR_INT: fprintf(f, "%lld", (long long)a->i); break;
  case IR_ATTR_STRING: fprintf(f, "\"%s\"", a->s); break;
  case IR_ATTR_INTS:
    fputc('[', f);
    for (int i = 0; i < a->n; i++)
      fprintf(f, "%s%lld", i ? "," : "", (long long)a->ints[i]);
    fputc(']', f);
    break;
  case IR_ATTR_FLOATS:
    fputc('[', f);
    for (int i = 0; i < a->n; i++) fprintf(f, "%s%g", i ? "," : "", a->floats[i]);
    fputc(']', f);
    break;
  case IR_ATTR_TENSOR: {
    char b[96];
    fprintf(f, "tensor<%s[%s]>", ir_dtype_name(a->tensor->dtype),
            ir_shape_str(&a->tensor->shape, b, sizeof b));
    break;
  }
  default: fprintf(f, "<kind %d>", (int)a->kind); break;
  }
}

static void print_type(FILE *f, const ir_tensor *t) {
  char b[128];
  if (!t->shape_known)
    fprintf(f, "%s[?]", ir_dtype_name(t->dtype));
  else
    fprintf(f, "%s[%s]", ir_dtype_name(t->dtype),
            ir_shape_str(&t->shape, b, sizeof b));
}

void ir_dump(const ir_graph *g, void *file) {
  FILE *f = file;
  fprintf(f, "graph \"%s\" opset %lld (%s)\n", g->name, (long long)g->opset,
          g->source_path);
  for (uint32_t i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    fprintf(f, "input  %%%s: ", t->name);
    print_type(f, t);
    fputc('\n', f);
  }
  for (ir_tensor_id id = 1; id < g->n_tensors; id++) {
    const ir_tensor *t = &g->tensors[id];
    if (t->role != IR_ROLE_CONSTANT) continue;
    fprintf(f, "const  %%%s: ", t->name);
    print_type(f, t);
    fputc('\n', f);
  }
  for (ir_node_id nid = 1; nid < g->n_nodes; nid++) {
    const ir_node *n = &g->nodes[nid];
    fprintf(f, "node %s = %s(", *n->name ? n->name : "_",
            ir_op_get(n->op)->name);
    for (int k = 0; k < n->n_in; k++)
      fprintf(f, "%s%s%s", k ? ", " : "", n->in[k] ? "%" : "",
              n->in[k] ? g->tensors[n->in[k]].name : "_");
    fprintf(f, ") ->");
    for (int k = 0; k < n->n_out; k++) {
      fprintf(f, "%s ", k ? "," : "");
      if (!n->out[k]) {
        fputc('_', f);
        continue;
      }
      fprintf(f, "%%%s: ", g->tensors[n->out[k]].name);
      print_type(f, &g->tensors[n->out[k]]);
    }
    if (n->n_attrs) {
      fprintf(f, "  {");
      for (uint32_t a = 0; a < n->n_attrs; a++) {
        if (a) fprintf(f, ", ");
        print_attr(f, &n->attrs[a]);
      }
      fputc('}', f);
    }
    fputc('\n', f);
  }
  for (uint32_t i = 0; i < g->n_outputs; i++)
    fprintf(f, "output %%%s\n", g->tensors[g->outputs[i]].name);
}
