/* make_test_engine — writes the test engines (fixture.h) and an input for
 * the embedding example:
 *   make_test_engine OBJECT OUTDIR
 * creates OUTDIR/simple.ingot, full.ingot, convert.ingot and x.npy (the
 * float32 [1,3,4,5] input of simple.ingot, values fix_x(i)), and prints the
 * first expected outputs of simple.ingot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static int save(const char *dir, const char *name, const void *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (write_file(path, p, n) != 0) {
    fprintf(stderr, "make_test_engine: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_test_engine OBJECT OUTDIR\n");
    return 2;
  }
  size_t n;
  uint8_t *obj = read_file(argv[1], &n);
  if (!obj) {
    fprintf(stderr, "make_test_engine: cannot read %s\n", argv[1]);
    return 1;
  }
  static const char *const names[] = {"full.ingot", "simple.ingot",
                                      "convert.ingot"};
  int rc = 0;
  for (int k = FIX_FULL; k <= FIX_CONVERT && !rc; k++) {
    size_t size;
    uint8_t *e = fixture_engine(k, obj, n, &size);
    rc = !e || save(argv[2], names[k], e, size);
    free(e);
  }
  /* x.npy: version 1.0 header padded to 128 bytes, then 60 float32 */
  char npy[128 + T_XN * 4];
  memset(npy, ' ', 128);
  memcpy(npy, "\x93NUMPY\x01\x00\x76\x00", 10);
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 5), }";
  memcpy(npy + 10, dict, strlen(dict));
  npy[127] = '\n';
  for (int i = 0; i < T_XN; i++) {
    float v = fix_x(i);
    memcpy(npy + 128 + 4 * i, &v, 4);
  }
  if (!rc) rc = save(argv[2], "x.npy", npy, sizeof npy);
  printf("y[0..3] = %g %g %g %g\n", (double)fix_y(0, fix_x(0)),
         (double)fix_y(0, fix_x(1)), (double)fix_y(0, fix_x(2)),
         (double)fix_y(0, fix_x(3)));
  free(obj);
  return rc;
}
