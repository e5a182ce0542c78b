/* dataset.c — files to model inputs (the rules are in dataset.h and
 * docs/dataset.md).
 *
 * Opening builds, for every graph input, the ordered list of files that
 * feed it and how many rows each holds.  .npy and .pb files are read once
 * at open to check dtype and shape (so a wrong file fails before any
 * model run) and again when their rows are needed; images count one row
 * and are checked when decoded.  Each input then has a cursor (file, row)
 * and a feed takes the next B rows of every input, across file
 * boundaries.  So batching in the files and batching in the model are
 * independent: a [100,3,224,224] file feeds a batch-4 model 25 times, and
 * 100 single-image files do the same.
 */
#define _DEFAULT_SOURCE /* DT_DIR */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <zlib.h>

#include "dataset.h"

typedef enum src_kind {
  SRC_NONE, SRC_NPY, SRC_PB, SRC_IMAGE, SRC_IDX
} src_kind;

typedef struct ds_file {
  char *path;
  src_kind kind;
  size_t rows;
} ds_file;

typedef struct ds_input {
  char *name;
  ir_dtype dtype;
  ir_shape shape;   /* dims[0] < 0 replaced by 1 */
  size_t batch;     /* rows per feed */
  size_t row_elems; /* elements per row */
  ds_file *files;
  size_t n_files, cap_files, total_rows;
  /* cursor */
  size_t fi, row;
  ir_value cur; /* loaded file fi (dtype UNDEF when none) */
} ds_input;

struct ir_dataset {
  ds_input *in;
  uint32_t n_in;
  size_t feeds, fed;
  ir_preprocess pp;
  FILE *log;
  const char *last; /* borrowed from a ds_file */
};

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcasecmp(s + n - k, suf) == 0;
}

static src_kind kind_of(const char *name) {
  if (ends_with(name, "idx3-ubyte") || ends_with(name, "idx3-ubyte.gz") ||
      ends_with(name, ".idx") || ends_with(name, ".idx.gz"))
    return SRC_IDX;
  const char *dot = strrchr(name, '.');
  if (!dot) return SRC_NONE;
  if (strcasecmp(dot, ".npy") == 0) return SRC_NPY;
  if (strcasecmp(dot, ".pb") == 0) return SRC_PB;
  if (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 ||
      strcasecmp(dot, ".jpeg") == 0)
    return SRC_IMAGE;
  return SRC_NONE;
}

/* "dir/b.npy" -> "b" (into buf) */
static void stem_of(const char *name, char *buf, size_t n) {
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  snprintf(buf, n, "%s", base);
  char *dot = strrchr(buf, '.');
  if (dot) *dot = '\0';
}

static bool is_output_file(const char *name) {
  return strncmp(name, "output_", 7) == 0;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static ingot_status oom(void) {
  return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
}

/* Sorted entry names of |dir| (hidden ones skipped). */
static ingot_status list_dir(const char *dir, char ***out, size_t *n_out) {
  DIR *d = opendir(dir);
  if (!d)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open directory: %s",
                             dir, strerror(errno));
  char **v = NULL;
  size_t n = 0, cap = 0;
  ingot_status s = NULL;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **nv = realloc(v, cap * sizeof *v);
      if (!nv) {
        s = oom();
        break;
      }
      v = nv;
    }
    if (!(v[n] = strdup(e->d_name))) {
      s = oom();
      break;
    }
    n++;
  }
  if (!s && errno)
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: cannot read directory: %s",
                          dir, strerror(errno));
  closedir(d);
  if (s) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
    return s;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: directories are small */
    for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
      char *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  *out = v;
  *n_out = n;
  return NULL;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*===------------------------------------------------------------------===*/
/* Loading one file for one input                                          */
/*===------------------------------------------------------------------===*/
static const char *shape_str(const ir_shape *s, char *buf, size_t n) {
  return ir_shape_str(s, buf, n);
}

/* The row shape of |in| printed as "Nx3x224x224". */
static void expect_str(const ds_input *in, char *buf, size_t n) {
  ir_shape row = in->shape;
  char tmp[128];
  if (row.rank == 0) {
    snprintf(buf, n, "scalar");
    return;
  }
  row.rank--;
  memmove(row.dims, row.dims + 1, sizeof(int64_t) * row.rank);
  if (row.rank == 0)
    snprintf(buf, n, "N (or scalar)");
  else
    snprintf(buf, n, "Nx%s (or %s)", ir_shape_str(&row, tmp, sizeof tmp),
             tmp);
}

/* Rows |v| holds for |in|, or an error naming file, input, expected, got. */
static ingot_status check_value(const ds_input *in, const char *path,
                                const ir_value *v, size_t *rows) {
  char a[160], b[128];
  if (v->dtype != in->dtype)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: input '%s' expects %s, the file holds %s",
                             path, in->name, ir_dtype_name(in->dtype),
                             ir_dtype_name(v->dtype));
  const ir_shape *is = &in->shape, *fs = &v->shape;
  bool ok = false;
  if (is->rank == 0) {
    ok = fs->rank == 0;
    *rows = 1;
  } else if (fs->rank == is->rank) {
    ok = fs->dims[0] >= 1;
    for (int d = 1; ok && d < is->rank; d++) ok = fs->dims[d] == is->dims[d];
    *rows = ok ? (size_t)fs->dims[0] : 0;
  } else if (fs->rank == is->rank - 1) {
    ok = true;
    for (int d = 0; ok && d < fs->rank; d++)
      ok = fs->dims[d] == is->dims[d + 1];
    *rows = 1;
  }
  if (!ok) {
    expect_str(in, a, sizeof a);
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: input '%s' expects shape %s, the file "
                             "holds %s", path, in->name, a,
                             shape_str(fs, b, sizeof b));
  }
  return NULL;
}

static ingot_status load_tensor(const ds_input *in, const ds_file *f,
                                ir_value *v, size_t *rows) {
  ingot_status s = f->kind == SRC_PB ? ir_read_tensor_pb(f->path, v, NULL)
                                     : ir_read_npy(f->path, v);
  if (s) return s;
  s = check_value(in, f->path, v, rows);
  if (s) ir_value_free(v);
  return s;
}

/* Layout of an image input: (c, h, w, nhwc) from its shape and --preprocess. */
static ingot_status image_geometry(const ds_input *in, const ir_preprocess *pp,
                                   const char *path, int *c, int *h, int *w,
                                   bool *nhwc) {
  const ir_shape *s = &in->shape;
  char b[128];
  if (in->dtype != IR_F32 || s->rank != 4)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: input '%s' is %s %s; images feed 4-D "
                             "float32 inputs ([N,C,H,W] or [N,H,W,C])", path,
                             in->name, ir_dtype_name(in->dtype),
                             ir_shape_str(s, b, sizeof b));
  bool chw_fits = s->dims[1] == 1 || s->dims[1] == 3;
  bool hwc_fits = s->dims[3] == 1 || s->dims[3] == 3;
  *nhwc = pp->layout == IR_PP_NHWC ||
          (pp->layout == IR_PP_AUTO_LAYOUT && !chw_fits && hwc_fits);
  if (pp->layout == IR_PP_AUTO_LAYOUT && !chw_fits && !hwc_fits)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: input '%s' has shape %s: no channel dim of "
                             "1 or 3 for an image", path, in->name,
                             ir_shape_str(s, b, sizeof b));
  *c = (int)(*nhwc ? s->dims[3] : s->dims[1]);
  *h = (int)(*nhwc ? s->dims[1] : s->dims[2]);
  *w = (int)(*nhwc ? s->dims[2] : s->dims[3]);
  return NULL;
}

static ingot_status load_image(const ir_dataset *d, const ds_input *in,
                               const ds_file *f, ir_value *v) {
  int c, h, w;
  bool nhwc;
  INGOT_RETURN_IF_ERROR(image_geometry(in, &d->pp, f->path, &c, &h, &w, &nhwc));
  ir_image im;
  INGOT_RETURN_IF_ERROR(ir_image_read(f->path, &im));
  memset(v, 0, sizeof *v);
  v->dtype = IR_F32;
  v->shape.rank = 3;
  v->shape.dims[0] = nhwc ? h : c;
  v->shape.dims[1] = nhwc ? w : h;
  v->shape.dims[2] = nhwc ? c : w;
  ingot_status s = ir_value_alloc(v);
  if (!s) s = ir_image_to_tensor(&im, &d->pp, c, h, w, nhwc, f->path, v->data);
  ir_image_free(&im);
  if (s) ir_value_free(v);
  return s;
}

/* IDX (the MNIST format): big-endian header, magic 0 0 type ndims, then
 * ndims uint32 dims.  Only 8-bit images [count, rows, cols] are read, as
 * gray images; gzip-compressed files are read through zlib. */
typedef struct idx_header {
  uint32_t n, h, w;
} idx_header;

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
         b[3];
}

static ingot_status idx_open(const char *path, gzFile *out, idx_header *hd) {
  gzFile f = gzopen(path, "rb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             errno ? strerror(errno) : "out of memory");
  unsigned char b[16];
  ingot_status s = NULL;
  if (gzread(f, b, 4) != 4 || b[0] != 0 || b[1] != 0)
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: not an IDX file (bad magic)",
                          path);
  else if (b[2] != 0x08)
    s = ingot_make_status(INGOT_UNIMPLEMENTED, "%s: IDX element type 0x%02x: "
                          "only unsigned bytes (idx3-ubyte images) are read",
                          path, b[2]);
  else if (b[3] != 3)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT, "%s: IDX with %d dims: "
                          "images have 3 (count, rows, columns)", path, b[3]);
  else if (gzread(f, b + 4, 12) != 12)
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: IDX header is truncated",
                          path);
  if (!s) {
    hd->n = be32(b + 4);
    hd->h = be32(b + 8);
    hd->w = be32(b + 12);
    if (!hd->n || !hd->h || !hd->w || (uint64_t)hd->h * hd->w > (1u << 26) ||
        (uint64_t)hd->n * hd->h * hd->w > ((uint64_t)1 << 31))
      s = ingot_make_status(INGOT_DATA_LOSS, "%s: IDX size %ux%ux%u is "
                            "empty or too large", path, hd->n, hd->h, hd->w);
  }
  if (s) {
    gzclose(f);
    return s;
  }
  *out = f;
  return NULL;
}

static ingot_status load_idx(const ir_dataset *d, const ds_input *in,
                             const ds_file *f, ir_value *v) {
  int c, h, w;
  bool nhwc;
  INGOT_RETURN_IF_ERROR(image_geometry(in, &d->pp, f->path, &c, &h, &w, &nhwc));
  gzFile z;
  idx_header hd;
  INGOT_RETURN_IF_ERROR(idx_open(f->path, &z, &hd));
  size_t img = (size_t)hd.h * hd.w, n = hd.n;
  uint8_t *px = malloc(img * n);
  ingot_status s = NULL;
  if (!px) {
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: out of memory",
                          f->path);
  } else {
    size_t got = 0;
    while (got < img * n) {
      size_t want = img * n - got;
      int k = gzread(z, px + got, want > (1u << 30) ? 1u << 30 : (unsigned)want);
      if (k <= 0) break;
      got += (size_t)k;
    }
    if (got < img * n) {
      int err;
      const char *msg = gzerror(z, &err);
      s = ingot_make_status(INGOT_DATA_LOSS, "%s: IDX data is %s (%zu of "
                            "%zu bytes)", f->path,
                            err && err != Z_BUF_ERROR ? msg : "truncated",
                            got, img * n);
    }
  }
  gzclose(z);
  memset(v, 0, sizeof *v);
  if (!s) {
    v->dtype = IR_F32;
    v->shape.rank = 4;
    v->shape.dims[0] = (int64_t)n;
    v->shape.dims[1] = nhwc ? h : c;
    v->shape.dims[2] = nhwc ? w : h;
    v->shape.dims[3] = nhwc ? c : w;
    s = ir_value_alloc(v);
  }
  size_t row = (size_t)c * h * w;
  for (size_t k = 0; !s && k < n; k++) {
    ir_image im = {.w = (int)hd.w, .h = (int)hd.h, .c = 1, .px = px + k * img};
    char what[4200];
    snprintf(what, sizeof what, "%s: image %zu", f->path, k);
    s = ir_image_to_tensor(&im, &d->pp, c, h, w, nhwc, what,
                           (float *)v->data + k * row);
  }
  free(px);
  if (s) ir_value_free(v);
  return s;
}

/*===------------------------------------------------------------------===*/
/* Building the file lists                                                 */
/*===------------------------------------------------------------------===*/
static ingot_status add_file(ir_dataset *d, uint32_t i, const char *path,
                             src_kind kind) {
  ds_input *in = &d->in[i];
  if (in->n_files == in->cap_files) {
    size_t cap = in->cap_files ? in->cap_files * 2 : 16;
    ds_file *nf = realloc(in->files, cap * sizeof *nf);
    if (!nf) return oom();
    in->files = nf;
    in->cap_files = cap;
  }
  ds_file f = {.path = strdup(path), .kind = kind, .rows = 1};
  if (!f.path) return oom();
  if (kind == SRC_IDX) {
    gzFile z;
    idx_header hd;
    int c, h, w;
    bool nhwc;
    ingot_status s = image_geometry(in, &d->pp, path, &c, &h, &w, &nhwc);
    if (!s) s = idx_open(path, &z, &hd);
    if (s) {
      free(f.path);
      return s;
    }
    gzclose(z);
    f.rows = hd.n;
  } else if (kind != SRC_IMAGE) {
    ir_value v;
    ingot_status s = load_tensor(in, &f, &v, &f.rows);
    if (s) {
      free(f.path);
      return s;
    }
    ir_value_free(&v);
  }
  in->files[in->n_files++] = f;
  in->total_rows += f.rows;
  return NULL;
}

static void log_ignored(const ir_dataset *d, const char *path,
                        const char *why) {
  if (d->log) fprintf(d->log, "data: ignored %s: %s\n", path, why);
}

/* Input index a file named |name| feeds in a multi-input set, or -1. */
static int match_input(const ir_dataset *d, const char *name) {
  char stem[256];
  stem_of(name, stem, sizeof stem);
  for (uint32_t i = 0; i < d->n_in; i++)
    if (strcmp(stem, d->in[i].name) == 0) return (int)i;
  if (strncmp(stem, "input_", 6) == 0) {
    char *end;
    long k = strtol(stem + 6, &end, 10);
    if (end != stem + 6 && *end == '\0' && k >= 0 && k < (long)d->n_in)
      return (int)k;
  }
  return -1;
}

/* A subdirectory (or, with |root|, the top directory's own files) as one
 * sample set of a multi-input model. */
static ingot_status add_set(ir_dataset *d, const char *dir, char **names,
                            size_t n, bool root, size_t *found) {
  ingot_status s = NULL;
  const char **pick = calloc(d->n_in, sizeof *pick);
  if (!pick) return oom();
  size_t got = 0;
  for (size_t k = 0; k < n && !s; k++) {
    char *p = join(dir, names[k]);
    if (!p) {
      s = oom();
      break;
    }
    src_kind kind = kind_of(names[k]);
    int i = kind == SRC_NONE || is_dir(p) ? -1 : match_input(d, names[k]);
    if (i < 0) {
      if (!(root && is_dir(p)) && !is_output_file(names[k]))
        log_ignored(d, p, kind == SRC_NONE
                              ? "not .npy, .pb, .png, .jpg or IDX"
                              : "its name is no input's name or input_K");
    } else if (pick[i]) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "%s: two files for input '%s': %s and %s", dir,
                            d->in[i].name, pick[i], names[k]);
    } else {
      pick[i] = names[k];
      got++;
    }
    free(p);
  }
  if (!s && got > 0 && got < d->n_in)
    for (uint32_t i = 0; i < d->n_in; i++)
      if (!pick[i]) {
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "%s: no file for input '%s' (expected %s.npy, "
                              "%s.pb or input_%u.pb)", dir, d->in[i].name,
                              d->in[i].name, d->in[i].name, i);
        break;
      }
  if (!s && got == d->n_in) {
    for (uint32_t i = 0; i < d->n_in && !s; i++) {
      char *p = join(dir, pick[i]);
      s = p ? add_file(d, i, p, kind_of(pick[i])) : oom();
      free(p);
    }
    (*found)++;
  }
  free(pick);
  return s;
}

/* One-input model: every usable file in |dir| (and one level below). */
static ingot_status add_dir_single(ir_dataset *d, const char *dir, int depth,
                                   size_t *found) {
  char **names;
  size_t n;
  INGOT_RETURN_IF_ERROR(list_dir(dir, &names, &n));
  ingot_status s = NULL;
  for (size_t k = 0; k < n && !s; k++) {
    char *p = join(dir, names[k]);
    if (!p) {
      s = oom();
      break;
    }
    if (is_dir(p)) {
      if (depth == 0)
        s = add_dir_single(d, p, 1, found);
      else
        log_ignored(d, p, "directories are read one level deep");
    } else if (kind_of(names[k]) == SRC_NONE) {
      log_ignored(d, p, "not .npy, .pb, .png, .jpg or IDX");
    } else if (!is_output_file(names[k])) {
      s = add_file(d, 0, p, kind_of(names[k]));
      (*found)++;
    }
    free(p);
  }
  free_list(names, n);
  return s;
}

static ingot_status add_dir_multi(ir_dataset *d, const char *dir,
                                  size_t *found) {
  char **names;
  size_t n;
  INGOT_RETURN_IF_ERROR(list_dir(dir, &names, &n));
  ingot_status s = add_set(d, dir, names, n, true, found);
  for (size_t k = 0; k < n && !s; k++) {
    char *p = join(dir, names[k]);
    if (!p) {
      s = oom();
      break;
    }
    if (is_dir(p)) {
      char **sub;
      size_t ns;
      s = list_dir(p, &sub, &ns);
      if (!s) {
        size_t before = *found;
        s = add_set(d, p, sub, ns, false, found);
        if (!s && *found == before)
          log_ignored(d, p, "holds no file named after an input");
        free_list(sub, ns);
      }
    }
    free(p);
  }
  free_list(names, n);
  return s;
}

ingot_status ir_dataset_open(const ir_graph *g, const char *path,
                             const char *preprocess, FILE *log,
                             ir_dataset **out) {
  *out = NULL;
  if (g->n_inputs == 0)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: the model has no inputs to feed", path);
  ir_dataset *d = calloc(1, sizeof *d);
  if (!d) return oom();
  d->log = log;
  d->n_in = g->n_inputs;
  ingot_status s = ir_preprocess_parse(preprocess, &d->pp);
  if (!s && !(d->in = calloc(g->n_inputs, sizeof *d->in))) s = oom();
  for (uint32_t i = 0; !s && i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    ds_input *in = &d->in[i];
    if (!(in->name = strdup(t->name))) {
      s = oom();
      break;
    }
    in->dtype = t->dtype;
    in->shape = t->shape;
    if (in->shape.rank > 0 && in->shape.dims[0] < 0) in->shape.dims[0] = 1;
    bool known = t->shape_known;
    for (int k = 0; known && k < in->shape.rank; k++)
      known = in->shape.dims[k] >= 0;
    if (!known) {
      char b[128];
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "input '%s' has shape %s: the data needs a "
                            "static shape (give --shapes %s:...)", t->name,
                            ir_shape_str(&t->shape, b, sizeof b), t->name);
      break;
    }
    in->batch = in->shape.rank ? (size_t)in->shape.dims[0] : 1;
    in->row_elems = ir_shape_numel(&in->shape) / (in->batch ? in->batch : 1);
    if (in->batch == 0 || in->row_elems == 0)
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "input '%s' has no elements", t->name);
  }
  size_t found = 0;
  if (!s) {
    struct stat st;
    if (stat(path, &st) != 0) {
      s = ingot_make_status(INGOT_NOT_FOUND, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      char **names;
      size_t n;
      s = list_dir(path, &names, &n);
      if (!s) {
        free_list(names, n);
        if (n == 0)
          s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                                "%s: empty directory", path);
      }
      if (!s)
        s = d->n_in == 1 ? add_dir_single(d, path, 0, &found)
                         : add_dir_multi(d, path, &found);
    } else if (d->n_in != 1) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "%s: one file can feed a one-input model; this "
                            "one has %u inputs (give a directory, see "
                            "docs/dataset.md)", path, d->n_in);
    } else if (kind_of(path) == SRC_NONE) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "%s: not .npy, .pb, .png, .jpg or IDX", path);
    } else {
      s = add_file(d, 0, path, kind_of(path));
      found = 1;
    }
  }
  if (!s && found == 0)
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "%s: no usable files (.npy, .pb, .png, .jpg, IDX) for "
                          "the model's input%s", path,
                          d->n_in > 1 ? "s (named after the inputs)" : "");
  if (!s) {
    d->feeds = (size_t)-1;
    for (uint32_t i = 0; i < d->n_in; i++) {
      size_t f = d->in[i].total_rows / d->in[i].batch;
      if (f < d->feeds) d->feeds = f;
    }
    for (uint32_t i = 0; i < d->n_in && !s; i++) {
      ds_input *in = &d->in[i];
      size_t left = in->total_rows - d->feeds * in->batch;
      if (d->feeds == 0)
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "%s: input '%s' takes %zu samples per run, "
                              "the data has %zu", path, in->name, in->batch,
                              in->total_rows);
      else if (left >= in->batch && d->n_in > 1)
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "%s: the inputs have different numbers of "
                              "samples ('%s' has %zu, enough for %zu runs; "
                              "another input allows %zu)", path, in->name,
                              in->total_rows, in->total_rows / in->batch,
                              d->feeds);
      else if (left && log)
        fprintf(log, "data: %s: %zu sample(s) of input '%s' left over (it "
                "takes %zu per run): not used\n", path, left, in->name,
                in->batch);
    }
  }
  if (s) {
    ir_dataset_close(d);
    return s;
  }
  *out = d;
  return NULL;
}

size_t ir_dataset_count(const ir_dataset *d) { return d->feeds; }

size_t ir_dataset_files(const ir_dataset *d) {
  size_t n = 0;
  for (uint32_t i = 0; i < d->n_in; i++) n += d->in[i].n_files;
  return n;
}

static void unload(ds_input *in) {
  if (in->cur.dtype != IR_DT_UNDEF) ir_value_free(&in->cur);
  memset(&in->cur, 0, sizeof in->cur);
}

void ir_dataset_rewind(ir_dataset *d) {
  for (uint32_t i = 0; i < d->n_in; i++) {
    unload(&d->in[i]);
    d->in[i].fi = d->in[i].row = 0;
  }
  d->fed = 0;
}

/* Copies the next in->batch rows into |v|. */
static ingot_status take_rows(ir_dataset *d, ds_input *in, ir_value *v) {
  size_t esz = ir_dtype_get(in->dtype)->size;
  size_t row_bytes = in->row_elems * esz;
  size_t need = in->batch, at = 0;
  while (need > 0) {
    if (in->fi >= in->n_files)
      return ingot_make_status(INGOT_INTERNAL, "dataset: ran out of rows");
    ds_file *f = &in->files[in->fi];
    if (in->cur.dtype == IR_DT_UNDEF) {
      size_t rows = 1;
      ingot_status s;
      if (f->kind == SRC_IMAGE)
        s = load_image(d, in, f, &in->cur);
      else if (f->kind == SRC_IDX)
        s = load_idx(d, in, f, &in->cur), rows = f->rows;
      else
        s = load_tensor(in, f, &in->cur, &rows);
      if (s) return s;
      if (rows != f->rows)
        return ingot_make_status(INGOT_DATA_LOSS,
                                 "%s: the file changed while reading it",
                                 f->path);
    }
    if (in == &d->in[0] && at == 0) d->last = f->path;
    size_t k = f->rows - in->row;
    if (k > need) k = need;
    memcpy((char *)v->data + at * row_bytes,
           (const char *)in->cur.data + in->row * row_bytes, k * row_bytes);
    at += k;
    need -= k;
    in->row += k;
    if (in->row == f->rows) {
      unload(in);
      in->fi++;
      in->row = 0;
    }
  }
  return NULL;
}

ingot_status ir_dataset_next(ir_dataset *d, ir_value *inputs, bool *done) {
  *done = false;
  for (uint32_t i = 0; i < d->n_in; i++) memset(&inputs[i], 0, sizeof *inputs);
  if (d->fed >= d->feeds) {
    *done = true;
    return NULL;
  }
  ingot_status s = NULL;
  for (uint32_t i = 0; i < d->n_in && !s; i++) {
    ir_value *v = &inputs[i];
    v->dtype = d->in[i].dtype;
    v->shape = d->in[i].shape;
    s = ir_value_alloc(v);
    if (!s) s = take_rows(d, &d->in[i], v);
  }
  if (s) {
    for (uint32_t i = 0; i < d->n_in; i++) ir_value_free(&inputs[i]);
    return s;
  }
  d->fed++;
  return NULL;
}

const char *ir_dataset_last_file(const ir_dataset *d) {
  return d->last ? d->last : "";
}

static uint64_t key_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

ingot_status ir_dataset_key(const ir_dataset *d, uint64_t *key) {
  uint64_t h = 0xcbf29ce484222325ull;
  unsigned char *buf = malloc(1 << 16);
  if (!buf) return oom();
  ingot_status s = NULL;
  for (uint32_t i = 0; !s && i < d->n_in; i++) {
    const ds_input *in = &d->in[i];
    h = key_bytes(h, in->name, strlen(in->name) + 1);
    for (size_t k = 0; !s && k < in->n_files; k++) {
      uint64_t rows = in->files[k].rows;
      h = key_bytes(h, &rows, sizeof rows);
      FILE *f = fopen(in->files[k].path, "rb");
      if (!f) {
        s = ingot_make_status(INGOT_NOT_FOUND, "%s: cannot read: %s",
                              in->files[k].path, strerror(errno));
        break;
      }
      size_t n;
      while ((n = fread(buf, 1, 1 << 16, f)) > 0) h = key_bytes(h, buf, n);
      if (ferror(f))
        s = ingot_make_status(INGOT_DATA_LOSS, "%s: read error",
                              in->files[k].path);
      fclose(f);
    }
  }
  free(buf);
  *key = h;
  return s;
}

void ir_dataset_close(ir_dataset *d) {
  if (!d) return;
  for (uint32_t i = 0; d->in && i < d->n_in; i++) {
    ds_input *in = &d->in[i];
    unload(in);
    for (size_t k = 0; k < in->n_files; k++) free(in->files[k].path);
    free(in->files);
    free(in->name);
  }
  free(d->in);
  free(d);
}
