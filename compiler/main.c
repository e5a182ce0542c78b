/* main.c — the ingot command.
 *
 * One binary, one subcommand per job (like git or trtexec's modes):
 *   ingot run MODEL.onnx --reference --input NAME=FILE ...   run a model
 *   ingot inspect MODEL.onnx                                  describe it
 * Every failure prints "ingot: <file/node/tensor>: <reason>" on stderr and
 * exits with 1; usage errors exit with 2.  This file is the only place in
 * Ingot allowed to call exit().
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const help_main =
    "ingot " INGOT_VERSION " — ahead-of-time engine compiler for neural "
    "networks\n"
    "\n"
    "usage: ingot COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  build     compile a model into an engine file for this CPU\n"
    "  run       run an engine, or a model with --reference\n"
    "  bench     measure an engine's latency and throughput\n"
    "  profile   time every step of an engine, mapped to the model's nodes\n"
    "  inspect   describe a model (.onnx or .xml) or an engine\n"
    "  compare   measure an engine's error against the fp32 reference\n"
    "  convert   write a model as XML IR (.xml + .bin, OpenVINO IR v11)\n"
    "  calibrate int8 calibration: per-tensor ranges of a model on data\n"
    "  help      show help for a command ('ingot help run')\n"
    "\n"
    "'ingot COMMAND --help' shows a command's options.\n";

/* The subcommands, in the order 'ingot --help' lists them. */
static const struct {
  const char *name;
  int (*fn)(int argc, char **argv);
} commands[] = {
    {"build", cmd_build},
    {"run", cmd_run},
    {"bench", cmd_bench},
    {"profile", cmd_profile},
    {"inspect", cmd_inspect},
    {"compare", cmd_compare},
    {"convert", cmd_convert},
    {"calibrate", cmd_calibrate},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(help_main, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    fputs(help_main, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("ingot %s\n", INGOT_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0) {
    if (argc > 2)
      for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          char *help[] = {"--help"};
          return commands[i].fn(1, help);
        }
    fputs(help_main, stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0)
      return commands[i].fn(argc - 2, argv + 2);
  fprintf(stderr, "ingot: unknown command '%s'\n\n", cmd);
  fputs(help_main, stderr);
  return 2;
}
