/* cli.c — helpers shared by the ingot subcommands (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xml.h"

int cli_fail(ingot_status s) {
  fprintf(stderr, "ingot: %s\n", ingot_status_message(s));
  ingot_status_free(s);
  return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "ingot %s: ", cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(see 'ingot %s --help')\n", cmd);
  return 2;
}

/* Parses "name:1x3x224x224[,name2:...]". */
ingot_status cli_parse_shapes(const char *arg, cli_shapes *o) {
  char *copy = strdup(arg);
  if (!copy) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item && !s;
       item = strtok_r(NULL, ",", &save)) {
    char *colon = strrchr(item, ':');
    if (!colon || colon == item || !colon[1]) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--shapes: '%s' is not NAME:DIMS (e.g. "
                            "input:1x3x224x224)",
                            item);
      break;
    }
    if (o->n == CLI_MAX_SHAPES) {
      s = ingot_make_status(INGOT_OUT_OF_RANGE, "--shapes: too many inputs");
      break;
    }
    *colon = 0;
    ir_shape_override *ov = &o->v[o->n];
    ov->name = strdup(item);
    ov->shape.rank = 0;
    char *p = colon + 1;
    while (*p && !s) {
      char *end;
      errno = 0;
      long long d = strtoll(p, &end, 10);
      if (end == p || errno || d < 0 || ov->shape.rank == IR_MAX_RANK ||
          (*end && *end != 'x')) {
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "--shapes: bad dims '%s' for '%s'", colon + 1,
                              item);
        break;
      }
      ov->shape.dims[ov->shape.rank++] = d;
      p = *end ? end + 1 : end;
    }
    if (!ov->name && !s)
      s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    o->n++;
  }
  free(copy);
  return s;
}

void cli_free_shapes(cli_shapes *o) {
  for (int i = 0; i < o->n; i++) free((char *)o->v[i].name);
}

bool cli_has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

ingot_status cli_load_model(const char *path, const cli_shapes *so,
                            ir_graph **g) {
  ir_import_options opt = {so->v, so->n, NULL};
  if (cli_has_suffix(path, ".xml")) return ir_import_xml_file(path, &opt, g);
  if (!cli_has_suffix(path, ".onnx"))
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "%s: ingot reads ONNX models (.onnx) and XML IR "
                             "(.xml with its .bin)",
                             path);
  return ir_import_onnx_file(path, &opt, g);
}

ingot_status cli_load_tensor(const char *path, ir_value *v) {
  if (cli_has_suffix(path, ".pb")) return ir_read_tensor_pb(path, v, NULL);
  return ir_read_npy(path, v);
}

