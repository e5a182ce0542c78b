/* fuzz_onnx.c — libFuzzer target for the ONNX importer: any byte string
 * must import or fail with a status, never crash, hang or leak.  When it
 * imports, the graph is also verified and dumped (exercising every path
 * that reads the imported data). */
#include <stdio.h>

#include "ir.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  ir_graph *g = NULL;
  ingot_status s = ir_import_onnx_memory(data, size, "fuzz.onnx", NULL, &g);
  if (s) {
    ingot_status_free(s);
    return 0;
  }
  ingot_status v = ir_verify(g);
  if (v) {
    fprintf(stderr, "imported graph fails verification: %s\n",
            ingot_status_message(v));
    __builtin_trap();
  }
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    ir_dump(g, null);
    fclose(null);
  }
  ir_graph_destroy(g);
  return 0;
}
