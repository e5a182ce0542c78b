/* build_loader.c — `ingot build` without LLVM in the ingot executable.
 *
 * The engine compiler (passes, codegen, LLVM) lives in the plugin
 * libingot_build.so; only the commands that need LLVM load it: `ingot
 * build` (ingot_plugin_build) and `ingot inspect --disasm`
 * (ingot_plugin_disasm).  So `ingot run`, `bench` and the rest of
 * `inspect` run with the slim runtime alone: no LLVM startup cost, no LLVM
 * pages in their memory.  The plugin is looked up next to the executable:
 * <bindir>/../lib/ingot/ (build tree), then the installed
 * <bindir>/INGOT_PLUGIN_REL.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef INGOT_PLUGIN_REL
#define INGOT_PLUGIN_REL "../lib/ingot"
#endif

static void *open_plugin(char *why, size_t n) {
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) {
    snprintf(why, n, "cannot find the ingot executable's folder");
    return NULL;
  }
  exe[len] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  const char *rels[] = {"../lib/ingot", INGOT_PLUGIN_REL};
  why[0] = 0;
  for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s/libingot_build.so", exe, rels[i]);
    if (access(path, R_OK) != 0) continue;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    snprintf(why, n, "%s", dlerror());
    return NULL;
  }
  snprintf(why, n, "libingot_build.so is not in %s/../lib/ingot or %s/%s",
           exe, exe, INGOT_PLUGIN_REL);
  return NULL;
}

ingot_status cli_plugin_fn(const char *what, const char *symbol,
                           cli_plugin_main *out) {
  *out = NULL;
  char why[PATH_MAX + 256];
  void *h = open_plugin(why, sizeof why);
  if (!h)
    return ingot_make_status(INGOT_NOT_FOUND,
                             "%s needs the engine compiler plugin: %s", what,
                             why);
  /* The plugin stays loaded until exit: LLVM registers atexit handlers. */
  *(void **)out = dlsym(h, symbol);
  if (!*out)
    return ingot_make_status(INGOT_INCOMPATIBLE,
                             "libingot_build.so has no %s: %s", symbol,
                             dlerror());
  return NULL;
}

int cmd_build(int argc, char **argv) {
  cli_plugin_main fn;
  ingot_status s = cli_plugin_fn("ingot build", "ingot_plugin_build", &fn);
  return s ? cli_fail(s) : fn(argc, argv);
}
