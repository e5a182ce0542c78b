/* cmd_convert.c — ingot convert: writes a model as Ingot's XML IR
 * (OpenVINO IR v11 compatible: MODEL.xml + MODEL.bin), the format
 * --dump-ir writes and Netron opens.  Reads .onnx or .xml. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xml.h"

static const char *const help_convert =
    "usage: ingot convert MODEL.onnx|MODEL.xml -o OUT.xml [--shapes "
    "NAME:DIMS]\n"
    "\n"
    "Writes the model as XML IR: OUT.xml (the graph) and OUT.bin (the\n"
    "weights, copied byte for byte), compatible with OpenVINO IR v11.\n"
    "Ops with an exact OpenVINO equivalent are written as standard layers;\n"
    "the rest as version=\"ingot\" layers that keep the ONNX op and its\n"
    "attributes, so 'ingot run OUT.xml' computes exactly what the original\n"
    "does.  See docs/xml-ir.md.\n"
    "\n"
    "  -o, --output OUT.xml  the file to write (.bin goes next to it)\n"
    "  --shapes NAME:DIMS    fix symbolic input dims first\n";

int cmd_convert(int argc, char **argv) {
  const char *model = NULL, *out = NULL;
  cli_shapes so = {0};
  int rc = 0;
  for (int i = 0; i < argc && !rc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(help_convert, stdout);
      cli_free_shapes(&so);
      return 0;
    } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) &&
               i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(a, "--shapes") == 0 && i + 1 < argc) {
      ingot_status s = cli_parse_shapes(argv[++i], &so);
      if (s) rc = cli_fail(s);
    } else if (a[0] == '-') {
      rc = cli_usage_error("convert", "unknown or incomplete option '%s'", a);
    } else if (!model) {
      model = a;
    } else {
      rc = cli_usage_error("convert", "unexpected argument '%s'", a);
    }
  }
  if (!rc && !model) rc = cli_usage_error("convert", "%s", "no MODEL given");
  if (!rc && !out) rc = cli_usage_error("convert", "%s", "no -o OUT.xml given");
  if (!rc && !cli_has_suffix(out, ".xml"))
    rc = cli_usage_error("convert", "the output '%s' must end in .xml", out);
  ir_graph *g = NULL;
  if (!rc) {
    ingot_status s = cli_load_model(model, &so, &g);
    if (!s) s = ir_export_xml(g, out);
    if (s) rc = cli_fail(s);
  }
  if (!rc) {
    char *bin = ir_xml_bin_path(out);
    printf("wrote %s and %s (%u nodes)\n", out, bin ? bin : "the .bin",
           g->n_nodes - 1);
    free(bin);
  }
  ir_graph_destroy(g);
  cli_free_shapes(&so);
  return rc;
}
