/* test_bad_xml.c — the XML IR importer on bad input: every case fails with
 * the expected status code and a message naming the layer (or line) and
 * the reason; none crashes (the test also runs under ASan/UBSan).  Each
 * case is a small edit of one valid model, y = x + w (Parameter, Const,
 * Add, Result), which must itself import and compute.
 */
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ir.h"
#include "xml.h"

static const char *const good =
    "<?xml version=\"1.0\"?>\n"
    "<net name=\"t\" version=\"11\">\n"
    "<layers>\n"
    "<layer id=\"0\" name=\"x\" type=\"Parameter\" version=\"opset1\">"
    "<data shape=\"2\" element_type=\"f32\"/><output><port id=\"0\" "
    "precision=\"FP32\" names=\"x\"><dim>2</dim></port></output></layer>\n"
    "<layer id=\"1\" name=\"w\" type=\"Const\" version=\"opset1\">"
    "<data element_type=\"f32\" shape=\"2\" offset=\"0\" size=\"8\"/><output>"
    "<port id=\"0\" precision=\"FP32\"><dim>2</dim></port></output></layer>\n"
    "<layer id=\"2\" name=\"add\" type=\"Add\" version=\"opset1\"><input>"
    "<port id=\"0\"><dim>2</dim></port><port id=\"1\"><dim>2</dim></port>"
    "</input><output><port id=\"2\" precision=\"FP32\" names=\"y\"><dim>2"
    "</dim></port></output></layer>\n"
    "<layer id=\"3\" name=\"y/sink\" type=\"Result\" version=\"opset1\">"
    "<input><port id=\"0\"><dim>2</dim></port></input></layer>\n"
    "</layers>\n"
    "<edges>\n"
    "<edge from-layer=\"0\" from-port=\"0\" to-layer=\"2\" to-port=\"0\"/>\n"
    "<edge from-layer=\"1\" from-port=\"0\" to-layer=\"2\" to-port=\"1\"/>\n"
    "<edge from-layer=\"2\" from-port=\"2\" to-layer=\"3\" to-port=\"0\"/>\n"
    "</edges>\n"
    "</net>\n";

static const float weights[2] = {1.5f, -2.0f};

/* |good| with the first occurrence of |from| replaced by |to|. */
static char *edit(const char *from, const char *to) {
  const char *p = strstr(good, from);
  if (!p) {
    fprintf(stderr, "test bug: '%s' not in the model\n", from);
    exit(2);
  }
  size_t n = strlen(good) - strlen(from) + strlen(to);
  char *s = malloc(n + 1);
  size_t a = (size_t)(p - good);
  memcpy(s, good, a);
  strcpy(s + a, to);
  strcat(s, p + strlen(from));
  return s;
}

static void expect(const char *what, const char *xml, const void *bin,
                   size_t bin_n, ingot_status_code code, const char *needle) {
  ir_graph *g = NULL;
  ingot_status s =
      ir_import_xml_memory(xml, strlen(xml), bin, bin_n, "bad.xml", NULL, &g);
  if (!s) {
    fprintf(stderr, "FAIL %s: imported, expected an error\n", what);
    check_failures++;
    ir_graph_destroy(g);
    return;
  }
  const char *m = ingot_status_message(s);
  bool ok = ingot_status_code_of(s) == code && strstr(m, needle) && !g;
  printf("%s %-26s %s\n", ok ? "ok  " : "FAIL", what, m);
  if (!ok) {
    fprintf(stderr, "  wanted code %d and '%s'\n", (int)code, needle);
    check_failures++;
  }
  ingot_status_free(s);
}

static void case_edit(const char *what, const char *from, const char *to,
                      ingot_status_code code, const char *needle) {
  char *x = edit(from, to);
  expect(what, x, weights, sizeof weights, code, needle);
  free(x);
}

int main(void) {
  /* The model everything below breaks. */
  ir_graph *g = NULL;
  CHECK_OK(ir_import_xml_memory(good, strlen(good), weights, sizeof weights,
                                "good.xml", NULL, &g));
  if (g) {
    float xv[2] = {10, 20};
    ir_value in = {.dtype = IR_F32,
                   .shape = {.rank = 1, .dims = {2}},
                   .data = xv,
                   .borrowed = true};
    ir_value out = {0};
    CHECK_OK(ir_interp_run(g, &in, &out, NULL));
    CHECK(out.data && ((float *)out.data)[0] == 11.5f &&
          ((float *)out.data)[1] == 18.0f);
    ir_value_free(&out);
    ir_graph_destroy(g);
  }

  expect("empty file", "", NULL, 0, INGOT_DATA_LOSS, "the file is empty");
  case_edit("malformed XML", "</layers>", "</layer>", INGOT_DATA_LOSS,
            "bad.xml:8: malformed XML");
  case_edit("root is not <net>", "<net name", "<notnet name", INGOT_DATA_LOSS,
            "malformed XML");
  case_edit("wrong IR version", "version=\"11\"", "version=\"7\"",
            INGOT_INCOMPATIBLE, "<net version=\"7\"> is not supported");
  case_edit("DOCTYPE", "<net name",
            "<!DOCTYPE net [<!ENTITY a \"b\">]><net name",
            INGOT_INVALID_ARGUMENT, "a DOCTYPE is not allowed");
  case_edit("unknown layer type", "type=\"Add\"", "type=\"Frobnicate\"",
            INGOT_UNIMPLEMENTED,
            "layer 2 'add' (Frobnicate, line 6): layer type 'Frobnicate'");
  case_edit("unknown opset", "type=\"Add\" version=\"opset1\"",
            "type=\"Add\" version=\"custom\"", INGOT_UNIMPLEMENTED,
            "version 'custom' is not an OpenVINO opset");
  case_edit("unknown ingot op", "type=\"Add\" version=\"opset1\"",
            "type=\"Frob\" version=\"ingot\" inputs=\"2\" outputs=\"1\"",
            INGOT_UNIMPLEMENTED, "names op 'Frob', which Ingot does not know");
  case_edit("edge to missing layer", "to-layer=\"2\" to-port=\"1\"",
            "to-layer=\"99\" to-port=\"1\"", INGOT_INVALID_ARGUMENT,
            "refers to layer 99, which does not exist");
  case_edit("edge to missing port", "to-layer=\"2\" to-port=\"1\"",
            "to-layer=\"2\" to-port=\"5\"", INGOT_INVALID_ARGUMENT,
            "layer 2 'add' (Add, line 6): the <edge> at line 11 enters input "
            "port 5");
  case_edit("edge from missing port", "from-layer=\"1\" from-port=\"0\"",
            "from-layer=\"1\" from-port=\"3\"", INGOT_INVALID_ARGUMENT,
            "leaves output port 3");
  case_edit("port fed twice",
            "from-layer=\"1\" from-port=\"0\" to-layer=\"2\" to-port=\"1\"",
            "from-layer=\"1\" from-port=\"0\" to-layer=\"2\" to-port=\"0\"",
            INGOT_INVALID_ARGUMENT, "input port 0 has two incoming edges");
  case_edit(
      "unconnected input",
      "<edge from-layer=\"1\" from-port=\"0\" to-layer=\"2\" to-port=\"1\"/>",
      "", INGOT_INVALID_ARGUMENT, "input port 1 is not connected");
  case_edit("duplicate layer id", "<layer id=\"3\"", "<layer id=\"2\"",
            INGOT_INVALID_ARGUMENT, "layer id 2 is used twice");
  case_edit("cycle", "from-layer=\"0\" from-port=\"0\" to-layer=\"2\"",
            "from-layer=\"2\" from-port=\"2\" to-layer=\"2\"",
            INGOT_INVALID_ARGUMENT,
            "(Add, line 6): the layer is part of a cycle");
  case_edit("offset past the .bin", "offset=\"0\"", "offset=\"100\"",
            INGOT_DATA_LOSS,
            "layer 1 'w' (Const, line 5): needs bytes 100..108 of the .bin, "
            "which has only 8 bytes");
  case_edit("negative offset", "offset=\"0\"", "offset=\"-4\"", INGOT_DATA_LOSS,
            "negative offset or size");
  case_edit("size does not match", "size=\"8\"", "size=\"12\"", INGOT_DATA_LOSS,
            "size 12 does not match shape [2] of f32");
  case_edit("bad element type", "element_type=\"f32\" shape=\"2\" offset",
            "element_type=\"u4\" shape=\"2\" offset", INGOT_UNIMPLEMENTED,
            "element type 'u4' is not supported");
  case_edit("bad dim", "<dim>2</dim></port></output></layer>\n<layer id=\"2\"",
            "<dim>two</dim></port></output></layer>\n<layer id=\"2\"",
            INGOT_INVALID_ARGUMENT, "has a bad <dim>");
  case_edit("wrong declared shape", "names=\"y\"><dim>2", "names=\"y\"><dim>3",
            INGOT_INVALID_ARGUMENT,
            "output port 2 is declared 3 but Ingot infers 2");
  case_edit("wrong declared type", "precision=\"FP32\" names=\"y\"",
            "precision=\"I32\" names=\"y\"", INGOT_INVALID_ARGUMENT,
            "output port 2 is declared int32 but computes float32");
  case_edit("layer without id", "<layer id=\"2\"", "<layer",
            INGOT_INVALID_ARGUMENT, "the <layer> at line 6 has no valid id");
  case_edit("bad ingot attribute", "type=\"Add\" version=\"opset1\">",
            "type=\"Add\" version=\"ingot\" inputs=\"2\" outputs=\"1\" "
            "kinds=\"alpha:int\"><data alpha=\"abc\"/>",
            INGOT_INVALID_ARGUMENT,
            "attribute 'alpha' = 'abc' is not an integer");
  case_edit("ingot port out of range", "type=\"Add\" version=\"opset1\">",
            "type=\"Add\" version=\"ingot\" inputs=\"1\" outputs=\"1\">",
            INGOT_INVALID_ARGUMENT, "input port 1 is outside 0..0");
  /* .bin too short for the Const. */
  expect(".bin too short", good, weights, 4, INGOT_DATA_LOSS,
         "needs bytes 0..8 of the .bin, which has only 4 bytes");
  expect("no .bin", good, NULL, 0, INGOT_DATA_LOSS, "which has only 0 bytes");
  /* A file that is not there. */
  ir_graph *h = NULL;
  ingot_status s = ir_import_xml_file("/nonexistent/model.xml", NULL, &h);
  CHECK(s && ingot_status_code_of(s) == INGOT_NOT_FOUND && !h);
  ingot_status_free(s);
  return check_report("test_bad_xml");
}
