/* npy.c — NumPy .npy files in and out (format versions 1.0, 2.0, 3.0).
 *
 * .npy is what users have: np.save(x) writes it.  The header is a Python
 * dict literal; we parse just its three keys (descr, fortran_order, shape)
 * and reject anything we cannot represent exactly: big-endian data,
 * Fortran order, object and string dtypes, rank above IR_MAX_RANK, and a
 * payload shorter than the shape needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const struct {
  const char *descr;
  ir_dtype dtype;
} npy_types[] = {
    {"f4", IR_F32}, {"f8", IR_F64}, {"f2", IR_F16}, {"i1", IR_I8},
    {"u1", IR_U8},  {"i2", IR_I16}, {"u2", IR_U16}, {"i4", IR_I32},
    {"u4", IR_U32}, {"i8", IR_I64}, {"u8", IR_U64}, {"b1", IR_BOOL},
};

static ingot_status bad(const char *path, const char *why) {
  return ingot_make_status(INGOT_DATA_LOSS, "%s: not a valid .npy file: %s",
                           path, why);
}

/* Finds 'key': in the header dict and returns a pointer after the colon. */
static const char *find_key(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) {
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(h, pat);
  }
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

ingot_status ir_read_npy(const char *path, ir_value *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             strerror(errno));
  unsigned char pre[12];
  ingot_status s = NULL;
  char *hdr = NULL;
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    s = bad(path, "missing the \\x93NUMPY magic");
    goto done;
  }
  size_t hlen;
  if (pre[6] == 1) {
    hlen = pre[8] | (size_t)pre[9] << 8;
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) {
      s = bad(path, "truncated header");
      goto done;
    }
    hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
           (size_t)pre[11] << 24;
  } else {
    s = bad(path, "unknown format version");
    goto done;
  }
  if (hlen > (1u << 20)) {
    s = bad(path, "header is too long");
    goto done;
  }
  hdr = malloc(hlen + 1);
  if (!hdr || fread(hdr, 1, hlen, f) != hlen) {
    s = hdr ? bad(path, "truncated header")
            : ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  hdr[hlen] = 0;
  const char *p = find_key(hdr, "descr");
  if (!p || (*p != '\'' && *p != '"')) {
    s = bad(path, "no 'descr' in header");
    goto done;
  }
  if (!p[1] || !p[2] || !p[3]) {
    s = bad(path, "'descr' is cut short");
    goto done;
  }
  char order = p[1];
  const char *code = p + 2;
  if (order == '>' && !(code[1] == '1' && code[2] == p[0])) {
    s = ingot_make_status(INGOT_UNIMPLEMENTED,
                          "%s: big-endian arrays are not supported; save "
                          "with a little-endian dtype",
                          path);
    goto done;
  }
  if (order != '<' && order != '|' && order != '=' && order != '>') {
    s = bad(path, "bad 'descr'");
    goto done;
  }
  out->dtype = IR_DT_UNDEF;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (strncmp(code, npy_types[i].descr, 2) == 0 && code[2] == p[0])
      out->dtype = npy_types[i].dtype;
  if (out->dtype == IR_DT_UNDEF) {
    char d[16] = {0};
    for (int i = 0; i < 15 && p[1 + i] && p[1 + i] != p[0]; i++) d[i] = p[1 + i];
    s = ingot_make_status(INGOT_UNIMPLEMENTED,
                          "%s: numpy dtype '%s' is not supported", path, d);
    goto done;
  }
  p = find_key(hdr, "fortran_order");
  if (!p || strncmp(p, "False", 5) != 0) {
    s = p ? ingot_make_status(INGOT_UNIMPLEMENTED,
                              "%s: Fortran-ordered arrays are not "
                              "supported; save np.ascontiguousarray(x)",
                              path)
          : bad(path, "no 'fortran_order' in header");
    goto done;
  }
  p = find_key(hdr, "shape");
  if (!p || *p != '(') {
    s = bad(path, "no 'shape' in header");
    goto done;
  }
  p++;
  out->shape.rank = 0;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    if (*p < '0' || *p > '9') {
      s = bad(path, "bad 'shape'");
      goto done;
    }
    if (out->shape.rank == IR_MAX_RANK) {
      s = ingot_make_status(INGOT_UNIMPLEMENTED,
                            "%s: rank above %d is not supported", path,
                            IR_MAX_RANK);
      goto done;
    }
    char *end;
    errno = 0;
    long long d = strtoll(p, &end, 10);
    if (errno || d < 0 || d > (1LL << 40)) {
      s = bad(path, "bad dimension in 'shape'");
      goto done;
    }
    out->shape.dims[out->shape.rank++] = d;
    p = end;
    while (*p == 'L') p++;
  }
  if ((s = ir_value_alloc(out))) {
    s = ingot_status_annotate(s, "%s: ", path);
    goto done;
  }
  size_t nb = ir_value_nbytes(out);
  if (fread(out->data, 1, nb, f) != nb) {
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "%s: data is shorter than its shape needs (%zu "
                          "bytes)",
                          path, nb);
    ir_value_free(out);
    goto done;
  }
done:
  free(hdr);
  fclose(f);
  return s;
}

ingot_status ir_write_npy(const char *path, const ir_value *v) {
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
    if (npy_types[i].dtype == v->dtype) descr = npy_types[i].descr;
  if (!descr)
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "%s: dtype %s has no .npy equivalent", path,
                             ir_dtype_name(v->dtype));
  char dict[512], shape[256] = "";
  size_t used = 0;
  for (int d = 0; d < v->shape.rank; d++)
    used += (size_t)snprintf(shape + used, sizeof shape - used, "%lld%s",
                             (long long)v->shape.dims[d],
                             v->shape.rank == 1 ? "," : (d + 1 < v->shape.rank ? ", " : ""));
  int n = snprintf(dict, sizeof dict,
                   "{'descr': '%c%s', 'fortran_order': False, 'shape': (%s), }",
                   (descr[1] == '1') ? '|' : '<', descr, shape);
  /* Pad so that the data starts at a multiple of 64 bytes. */
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot create: %s", path,
                             strerror(errno));
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                           (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)n, f) == (size_t)n;
  for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  size_t nb = ir_value_nbytes(v);
  ok = ok && (nb == 0 || fwrite(v->data, 1, nb, f) == nb);
  ok = (fclose(f) == 0) && ok;
  if (!ok)
    return ingot_make_status(INGOT_DATA_LOSS, "%s: write failed", path);
  return NULL;
}
