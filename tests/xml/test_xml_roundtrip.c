/* test_xml_roundtrip.c — ONNX -> XML IR -> import gives the same graph and
 * bit-identical outputs through the reference interpreter.
 *
 * usage:
 *   test_xml_roundtrip TMPDIR --list LIST.txt DATADIR...
 *       every test named in LIST (one a line, '#' comments; the expected-pass
 *       lists of tests/conformance/) found as DATADIR/NAME/model.onnx, run
 *       on its test_data_set_0 inputs;
 *   test_xml_roundtrip TMPDIR --model MODEL.onnx INPUT.npy
 *       a sample model on its .npy input.
 * For each model: import the ONNX, run it, export it to TMPDIR/NAME.xml
 * (+ .bin), import that, check the graph has the same ops in the same
 * order and the same input/output names, run it again, and require every
 * output to match bit for bit (dtype, shape and bytes).  A model whose
 * ONNX import or first run fails is skipped (that is the conformance
 * suite's business, not the XML IR's).  Ends with "N passed, N failed,
 * N skipped".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"
#include "xml.h"

enum { R_PASS, R_FAIL, R_SKIP };

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads DIR/input_K.pb into |inputs| (one per graph input), as the
 * conformance runner does. */
static ingot_status read_inputs(const ir_graph *g, const char *dir,
                                ir_value *inputs) {
  char path[4096];
  for (uint32_t k = 0;; k++) {
    snprintf(path, sizeof path, "%s/input_%u.pb", dir, k);
    if (!is_file(path)) break;
    ir_value v;
    char *name = NULL;
    INGOT_RETURN_IF_ERROR(ir_read_tensor_pb(path, &v, &name));
    uint32_t slot = k;
    for (uint32_t i = 0; name && *name && i < g->n_inputs; i++)
      if (strcmp(g->tensors[g->inputs[i]].name, name) == 0) slot = i;
    free(name);
    if (slot >= g->n_inputs) {
      ir_value_free(&v);
      continue;
    }
    if (v.dtype == IR_U16 && g->tensors[g->inputs[slot]].dtype == IR_BF16)
      v.dtype = IR_BF16;
    ir_value_free(&inputs[slot]);
    inputs[slot] = v;
  }
  for (uint32_t i = 0; i < g->n_inputs; i++)
    if (inputs[i].dtype == IR_DT_UNDEF)
      return ingot_make_status(INGOT_NOT_FOUND, "no data for input '%s'",
                               g->tensors[g->inputs[i]].name);
  return NULL;
}

static bool same_structure(const ir_graph *a, const ir_graph *b, char *why,
                           size_t n) {
  if (a->n_nodes != b->n_nodes) {
    snprintf(why, n, "%u nodes after the round trip, %u before", b->n_nodes - 1,
             a->n_nodes - 1);
    return false;
  }
  for (ir_node_id i = 1; i < a->n_nodes; i++)
    if (a->nodes[i].op != b->nodes[i].op ||
        strcmp(a->nodes[i].name, b->nodes[i].name)) {
      snprintf(why, n, "node %u is %s '%s', was %s '%s'", i,
               ir_op_get(b->nodes[i].op)->name, b->nodes[i].name,
               ir_op_get(a->nodes[i].op)->name, a->nodes[i].name);
      return false;
    }
  if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) {
    snprintf(why, n, "graph inputs/outputs differ in number");
    return false;
  }
  for (uint32_t i = 0; i < a->n_inputs; i++)
    if (strcmp(a->tensors[a->inputs[i]].name, b->tensors[b->inputs[i]].name)) {
      snprintf(why, n, "input %u is '%s', was '%s'", i,
               b->tensors[b->inputs[i]].name, a->tensors[a->inputs[i]].name);
      return false;
    }
  for (uint32_t i = 0; i < a->n_outputs; i++)
    if (strcmp(a->tensors[a->outputs[i]].name,
               b->tensors[b->outputs[i]].name)) {
      snprintf(why, n, "output %u is '%s', was '%s'", i,
               b->tensors[b->outputs[i]].name, a->tensors[a->outputs[i]].name);
      return false;
    }
  return true;
}

static bool same_values(const ir_graph *g, const ir_value *x, const ir_value *y,
                        char *why, size_t n) {
  for (uint32_t i = 0; i < g->n_outputs; i++) {
    const char *name = g->tensors[g->outputs[i]].name;
    if (x[i].dtype != y[i].dtype || !ir_shape_equal(&x[i].shape, &y[i].shape)) {
      snprintf(why, n, "output '%s': dtype or shape differs", name);
      return false;
    }
    size_t nb = ir_value_nbytes(&x[i]);
    if (nb && memcmp(x[i].data, y[i].data, nb)) {
      snprintf(why, n, "output '%s': values differ", name);
      return false;
    }
  }
  return true;
}

/* One model: |inputs| already match |path|'s graph (NULL: read from
 * |dataset|). */
static int round_trip(const char *path, const char *dataset, const char *npy,
                      const char *tmp, const char *tag, char *why, size_t n) {
  ir_graph *g = NULL, *h = NULL;
  ingot_status s = ir_import_onnx_file(path, NULL, &g);
  if (s) {
    snprintf(why, n, "ONNX import: %s", ingot_status_message(s));
    ingot_status_free(s);
    return R_SKIP;
  }
  int r = R_PASS;
  ir_value *in = calloc(g->n_inputs + 1, sizeof *in);
  ir_value *o1 = calloc(g->n_outputs + 1, sizeof *o1);
  ir_value *o2 = calloc(g->n_outputs + 1, sizeof *o2);
  if (npy)
    s = g->n_inputs == 1
            ? ir_read_npy(npy, &in[0])
            : ingot_make_status(INGOT_INVALID_ARGUMENT, "model has %u inputs",
                                g->n_inputs);
  else
    s = read_inputs(g, dataset, in);
  if (!s) s = ir_interp_run(g, in, o1, NULL);
  if (s) {
    snprintf(why, n, "first run: %s", ingot_status_message(s));
    ingot_status_free(s);
    r = R_SKIP;
    goto done;
  }
  char xml[4096];
  snprintf(xml, sizeof xml, "%s/%s.xml", tmp, tag);
  s = ir_export_xml(g, xml);
  if (!s) s = ir_import_xml_file(xml, NULL, &h);
  if (!s && !same_structure(g, h, why, n)) r = R_FAIL;
  if (!s && r == R_PASS) s = ir_interp_run(h, in, o2, NULL);
  if (s) {
    snprintf(why, n, "%s", ingot_status_message(s));
    ingot_status_free(s);
    r = R_FAIL;
    goto done;
  }
  if (r == R_PASS && !same_values(g, o1, o2, why, n)) r = R_FAIL;
  if (r == R_PASS) { /* keep failures' files for a look */
    remove(xml);
    char *b = ir_xml_bin_path(xml);
    if (b) remove(b);
    free(b);
  }
done:
  for (uint32_t i = 0; in && i < g->n_inputs; i++) ir_value_free(&in[i]);
  for (uint32_t i = 0; o1 && i < g->n_outputs; i++) ir_value_free(&o1[i]);
  for (uint32_t i = 0; o2 && i < g->n_outputs; i++) ir_value_free(&o2[i]);
  free(in);
  free(o1);
  free(o2);
  ir_graph_destroy(g);
  ir_graph_destroy(h);
  return r;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: %s TMPDIR --list LIST.txt DATADIR... | TMPDIR --model "
            "MODEL.onnx INPUT.npy\n",
            argv[0]);
    return 2;
  }
  const char *tmp = argv[1];
  int pass = 0, fail = 0, skip = 0;
  char why[2048];
  if (!strcmp(argv[2], "--model")) {
    if (argc != 5) return 2;
    const char *base = strrchr(argv[3], '/');
    char tag[256];
    snprintf(tag, sizeof tag, "%s", base ? base + 1 : argv[3]);
    int r = round_trip(argv[3], NULL, argv[4], tmp, tag, why, sizeof why);
    if (r == R_PASS) {
      printf("PASS %s\n", argv[3]);
      pass++;
    } else {
      printf("FAIL %s: %s\n", argv[3], why);
      fail++; /* a sample model must always round-trip */
    }
  } else if (!strcmp(argv[2], "--list") && argc >= 5) {
    FILE *f = fopen(argv[3], "r");
    if (!f) {
      fprintf(stderr, "cannot open %s\n", argv[3]);
      return 2;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
      char *s = line;
      while (*s == ' ' || *s == '\t') s++;
      s[strcspn(s, " \t\r\n#")] = 0;
      if (!*s) continue;
      char dir[4096] = "", model[4200], set[4200];
      for (int d = 4; d < argc && !*dir; d++) {
        snprintf(model, sizeof model, "%s/%s/model.onnx", argv[d], s);
        if (is_file(model)) snprintf(dir, sizeof dir, "%s/%s", argv[d], s);
      }
      if (!*dir) {
        printf("SKIP %s: not found\n", s);
        skip++;
        continue;
      }
      snprintf(model, sizeof model, "%s/model.onnx", dir);
      snprintf(set, sizeof set, "%s/test_data_set_0", dir);
      int r = round_trip(model, set, NULL, tmp, s, why, sizeof why);
      if (r == R_PASS)
        pass++;
      else if (r == R_SKIP) {
        skip++;
        printf("SKIP %s: %s\n", s, why);
      } else {
        fail++;
        printf("FAIL %s: %s\n", s, why);
      }
    }
    fclose(f);
  } else {
    return 2;
  }
  printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
  return fail ? 1 : 0;
}
