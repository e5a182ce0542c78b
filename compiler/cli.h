/* cli.h — what the ingot subcommands share: option parsing helpers,
 * model and tensor loading, and error printing.  Each subcommand lives in
 * its own cmd_<name>.c and is listed in main.c's command table. */
#ifndef INGOT_COMPILER_CLI_H
#define INGOT_COMPILER_CLI_H

#include <stdbool.h>

#include "ir.h"

#define INGOT_VERSION "0.1.0"

enum { CLI_MAX_SHAPES = 32, CLI_MAX_INPUTS = 64 };

typedef struct cli_shapes {
  ir_shape_override v[CLI_MAX_SHAPES];
  int n;
} cli_shapes;

/* Prints "ingot: <message>", frees |s|, returns 1. */
int cli_fail(ingot_status s);
/* Prints "ingot CMD: <formatted>" and a hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);

/* Parses "name:1x3x224x224[,name2:...]" into |o| (appends). */
ingot_status cli_parse_shapes(const char *arg, cli_shapes *o);
void cli_free_shapes(cli_shapes *o);

bool cli_has_suffix(const char *s, const char *suf);
/* Imports a model file, choosing the importer by extension. */
ingot_status cli_load_model(const char *path, const cli_shapes *so,
                            ir_graph **g);
/* Reads a tensor from .npy or ONNX TensorProto .pb. */
ingot_status cli_load_tensor(const char *path, ir_value *v);

int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

/* An entry point of the plugin libingot_build.so (build_loader.c): the
 * commands that need LLVM (ingot_plugin_build, ingot_plugin_disasm).  The
 * plugin is loaded on first use and stays loaded; |what| names the command
 * in the error when the plugin or the symbol is missing. */
typedef int (*cli_plugin_main)(int argc, char **argv);
ingot_status cli_plugin_fn(const char *what, const char *symbol,
                           cli_plugin_main *out);

#endif
