/* fuzz_xml.c — libFuzzer target for the XML IR importer: any input must
 * import or fail with a status, never crash, hang or leak.  An input is
 * the .xml text, optionally followed by "\0BIN\0" and the .bin bytes (the
 * seeds in seeds_xml/ are small models in that form).  When it imports,
 * the graph is also verified and dumped, which reads every imported
 * field. */
#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  static const char sep[5] = {0, 'B', 'I', 'N', 0};
  size_t xml_n = size;
  const unsigned char *bin = NULL;
  size_t bin_n = 0;
  for (size_t i = 0; i + sizeof sep <= size; i++)
    if (data[i] == 0 && memcmp(data + i, sep, sizeof sep) == 0) {
      xml_n = i;
      bin = data + i + sizeof sep;
      bin_n = size - i - sizeof sep;
      break;
    }
  ir_graph *g = NULL;
  ingot_status s = ir_import_xml_memory((const char *)data, xml_n, bin, bin_n,
                                        "fuzz.xml", NULL, &g);
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
