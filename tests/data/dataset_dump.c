/* dataset_dump.c — test driver for the dataset loader (ir/dataset.h):
 *   dataset_dump MODEL DATA OUTDIR [PREPROCESS]
 * opens DATA for MODEL's inputs and writes every feed as
 * OUTDIR/feed<K>_in<I>.npy, then prints "feeds N".  Errors print
 * "error: <message>" and exit 1.  test_dataset.py checks the files. */
#include <stdio.h>
#include <stdlib.h>

#include "dataset.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: dataset_dump MODEL DATA OUTDIR [PREPROCESS]\n");
    return 2;
  }
  ir_graph *g = NULL;
  ir_dataset *d = NULL;
  ingot_status s = ir_import_onnx_file(argv[1], NULL, &g);
  if (!s) s = ir_dataset_open(g, argv[2], argc > 4 ? argv[4] : NULL, stdout, &d);
  size_t k = 0;
  ir_value *v = NULL;
  if (!s && !(v = calloc(g->n_inputs, sizeof *v)))
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (; !s; k++) {
    bool done;
    s = ir_dataset_next(d, v, &done);
    if (s || done) break;
    for (uint32_t i = 0; !s && i < g->n_inputs; i++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/feed%zu_in%u.npy", argv[3], k, i);
      s = ir_write_npy(path, &v[i]);
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) ir_value_free(&v[i]);
  }
  int rc = 0;
  if (s) {
    printf("error: %s\n", ingot_status_message(s));
    ingot_status_free(s);
    rc = 1;
  } else {
    printf("feeds %zu\n", k);
  }
  free(v);
  ir_dataset_close(d);
  ir_graph_destroy(g);
  return rc;
}
