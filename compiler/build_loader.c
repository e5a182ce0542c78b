/* build_loader.c — `ingot build` without LLVM in the ingot executable.
 *
 * The engine compiler (passes, codegen, LLVM) lives in the plugin
 * libingot_build.so; only `ingot build` loads it.  So `ingot run`, `bench`
 * and `inspect` of an engine run with the slim runtime alone: no LLVM
 * startup cost, no LLVM pages in their memory.  The plugin is looked up
 * next to the executable: <bindir>/../lib/ingot/ (build tree), then the
 * installed <bindir>/INGOT_PLUGIN_REL.
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

int cmd_build(int argc, char **argv) {
  char why[PATH_MAX + 256];
  void *h = open_plugin(why, sizeof why);
  if (!h)
    return cli_fail(ingot_make_status(INGOT_NOT_FOUND,
                                      "ingot build needs the engine "
                                      "compiler plugin: %s",
                                      why));
  int (*fn)(int, char **);
  *(void **)&fn = dlsym(h, "ingot_plugin_build");
  if (!fn)
    return cli_fail(ingot_make_status(INGOT_INCOMPATIBLE,
                                      "libingot_build.so has no "
                                      "ingot_plugin_build: %s",
                                      dlerror()));
  int rc = fn(argc, argv);
  /* The plugin stays loaded until exit: LLVM registers atexit handlers. */
  return rc;
}
