/* embed — the smallest complete program that embeds Ingot: it links only
 * libingot_rt, loads an engine built by `ingot build`, sets its inputs
 * from .npy or raw files, runs it and prints every output.
 *
 *   embed ENGINE [NAME=FILE ...] [--threads N]
 *
 * A .npy file may hold the input's own dtype, float32 or float64; a raw
 * file must hold exactly the input's bytes as float32 or in its own dtype.
 * Inputs not given are zeros.  Build it against an installed Ingot with
 * CMake (CMakeLists.txt here) or with
 *   cc main.c $(pkg-config --cflags --libs ingot-rt) -o embed
 */
#include <ingot/ingot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t dtype_size(ingot_dtype t) {
  switch (t) {
  case INGOT_UINT8: case INGOT_INT8: case INGOT_BOOL: return 1;
  case INGOT_UINT16: case INGOT_INT16: case INGOT_FLOAT16: case INGOT_BFLOAT16: return 2;
  case INGOT_FLOAT32: case INGOT_INT32: case INGOT_UINT32: return 4;
  default: return 8;
  }
}

static void print_shape(const ingot_tensor_info *t) {
  putchar('[');
  for (int k = 0; k < t->rank; k++) printf("%s%lld", k ? "x" : "", t->dims[k]);
  putchar(']');
}

static int fail(ingot_status s) {
  fprintf(stderr, "embed: %s: %s\n",
          ingot_status_code_name(ingot_status_code_of(s)), ingot_status_message(s));
  ingot_status_free(s);
  return 1;
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0, r;
  do {
    if (len == cap) {
      unsigned char *b = realloc(buf, cap = cap ? 2 * cap : 65536);
      if (!b) { free(buf); fclose(f); return NULL; }
      buf = b;
    }
    r = fread(buf + len, 1, cap - len, f);
    len += r;
  } while (r > 0);
  fclose(f);
  *n = len;
  return buf;
}

/* The dtype a .npy 'descr' names (little-endian or byte-sized), or 0. */
static ingot_dtype npy_dtype(const char *d) {
  static const struct { const char *descr; ingot_dtype t; } map[] = {
      {"<f4", INGOT_FLOAT32}, {"<f8", INGOT_FLOAT64}, {"<f2", INGOT_FLOAT16},
      {"|u1", INGOT_UINT8},   {"|i1", INGOT_INT8},    {"|b1", INGOT_BOOL},
      {"<u2", INGOT_UINT16},  {"<i2", INGOT_INT16},   {"<i4", INGOT_INT32},
      {"<u4", INGOT_UINT32},  {"<i8", INGOT_INT64},   {"<u8", INGOT_UINT64}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strncmp(d, map[i].descr, 3) == 0) return map[i].t;
  return (ingot_dtype)0;
}

/* Sets input |index| from |path|; returns 0 on success. */
static int set_from_file(ingot_session *s, int index,
                         const ingot_tensor_info *t, const char *path) {
  size_t n;
  unsigned char *buf = read_all(path, &n);
  if (!buf) {
    fprintf(stderr, "embed: cannot read %s\n", path);
    return 1;
  }
  const unsigned char *data = buf;
  ingot_dtype dt = t->dtype;
  size_t count = t->nbytes / dtype_size(t->dtype);
  if (n >= 10 && memcmp(buf, "\x93NUMPY", 6) == 0) {
    size_t hl = buf[6] == 1 ? (size_t)(buf[8] | buf[9] << 8)
                            : n >= 12 ? (size_t)(buf[8] | buf[9] << 8 | buf[10] << 16 |
                                                 (size_t)buf[11] << 24) : n;
    size_t pre = buf[6] == 1 ? 10 : 12, start = pre + hl;
    char *hdr = start <= n ? strndup((const char *)buf + pre, hl) : NULL;
    const char *descr = hdr ? strstr(hdr, "'descr': '") : NULL;
    dt = descr ? npy_dtype(descr + 10) : (ingot_dtype)0;
    int fortran = hdr && strstr(hdr, "'fortran_order': True") != NULL;
    free(hdr);
    if (!dt || fortran) {
      fprintf(stderr, "embed: %s: unsupported .npy (need a C-order array of a "
                      "little-endian numeric dtype)\n", path);
      free(buf);
      return 1;
    }
    data = buf + start;
    n -= start;
  } else if (n == count * 4) {
    dt = INGOT_FLOAT32;
  }
  float *tmp = NULL;
  if (dt == INGOT_FLOAT64 && t->dtype != INGOT_FLOAT64 && n == count * 8) {
    tmp = malloc(count ? count * sizeof *tmp : 1);
    for (size_t i = 0; tmp && i < count; i++) {
      double v;
      memcpy(&v, data + 8 * i, 8);
      tmp[i] = (float)v;
    }
    data = (const unsigned char *)tmp;
    n = count * 4;
    dt = INGOT_FLOAT32;
  }
  ingot_status st = ingot_session_set_input(s, index, dt, data, n);
  free(tmp);
  free(buf);
  if (st) return fail(st);
  printf("input  %s <- %s\n", t->name, path);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: embed ENGINE [NAME=FILE ...] [--threads N]\n");
    return 2;
  }
  ingot_session_options opt = {0};
  ingot_engine *engine = NULL;
  ingot_status st = ingot_engine_load_file(argv[1], &engine);
  if (st) return fail(st);
  for (int i = 2; i + 1 < argc; i++)
    if (strcmp(argv[i], "--threads") == 0) opt.threads = atoi(argv[i + 1]);
  ingot_session *s = NULL;
  st = ingot_session_create(engine, &opt, &s);
  if (st) {
    ingot_engine_release(engine);
    return fail(st);
  }
  printf("engine %s: %d input(s), %d output(s), %d thread(s), libingot_rt %s\n",
         argv[1], ingot_engine_input_count(engine),
         ingot_engine_output_count(engine), ingot_session_thread_count(s),
         ingot_version());

  int rc = 0;
  for (int i = 0; i < ingot_engine_input_count(engine) && !rc; i++) {
    ingot_tensor_info t;
    if ((st = ingot_engine_input_info(engine, i, &t))) { rc = fail(st); break; }
    const char *file = NULL;
    size_t len = strlen(t.name);
    for (int a = 2; a < argc; a++)
      if (strncmp(argv[a], t.name, len) == 0 && argv[a][len] == '=')
        file = argv[a] + len + 1;
    if (file) {
      rc = set_from_file(s, i, &t, file);
    } else {
      void *zeros = calloc(1, t.nbytes ? t.nbytes : 1);
      st = ingot_session_set_input(s, i, t.dtype, zeros, t.nbytes);
      free(zeros);
      if (st) rc = fail(st);
      else printf("input  %s <- zeros\n", t.name);
    }
  }
  if (!rc && (st = ingot_session_run(s))) rc = fail(st);
  for (int i = 0; !rc && i < ingot_engine_output_count(engine); i++) {
    ingot_tensor_info t;
    if ((st = ingot_engine_output_info(engine, i, &t))) { rc = fail(st); break; }
    size_t count = t.nbytes / dtype_size(t.dtype);
    float *v = malloc(count ? count * sizeof *v : 1);
    if (!v) { rc = 1; break; }
    if ((st = ingot_session_get_output(s, i, INGOT_FLOAT32, v, count * sizeof *v))) {
      free(v);
      rc = fail(st);
      break;
    }
    printf("output %s ", t.name);
    print_shape(&t);
    printf(" =");
    for (size_t k = 0; k < count && k < 10; k++) printf(" %g", (double)v[k]);
    printf("%s\n", count > 10 ? " ..." : "");
    free(v);
  }
  ingot_session_destroy(s);
  ingot_engine_release(engine);
  return rc;
}
