/* image.c — PNG/JPEG decoding and the --preprocess pipeline for image
 * datasets (dataset.h).
 *
 * Decoding uses the system libraries (libpng's simplified API, libjpeg
 * with a longjmp error handler), so a JPEG decodes to exactly the pixels
 * PIL gets from the same libjpeg-turbo.  A libjpeg *warning* (truncated
 * data, bad Huffman code) is treated as an error: a corrupt calibration
 * image should stop the run, not feed grey pixels into the ranges.
 *
 * Preprocessing works in float from the 8-bit pixels:
 *   colour (gray = ITU-R 601 luma, as PIL's convert("L")) -> resize ->
 *   centre crop -> /scale -> (x - mean) / std -> layout.
 * The resize is separable and antialiased like PIL's BILINEAR filter (the
 * triangle's support widens by the shrink factor; torchvision's Resize on
 * PIL images calls it): horizontal pass, then vertical.  PIL rounds to
 * 8 bits after each pass and at the end; we keep floats, so results
 * differ from PIL by at most about one 8-bit step (tests/data/ says how
 * that is checked).  "resize=N" scales the shorter side to N and the
 * longer to floor(N * long / short), as torchvision does; the centre crop
 * starts at round-half-even((size - crop) / 2), as torchvision does.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "dataset.h"

/*===------------------------------------------------------------------===*/
/* --preprocess                                                            */
/*===------------------------------------------------------------------===*/
static ingot_status pp_bad(const char *key, const char *val, const char *why) {
  return ingot_make_status(INGOT_INVALID_ARGUMENT,
                           "--preprocess: %s=%s: %s", key, val, why);
}

/* "256" -> (256, 256, false); "224x200" -> (224, 200, true) */
static bool parse_size(const char *v, int *h, int *w, bool *two) {
  char *end;
  long a = strtol(v, &end, 10);
  if (end == v || a <= 0 || a > 65536) return false;
  *h = *w = (int)a;
  *two = false;
  if (*end == 'x') {
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (end == p || b <= 0 || b > 65536) return false;
    *w = (int)b;
    *two = true;
  }
  return *end == '\0';
}

ingot_status ir_preprocess_parse(const char *spec, ir_preprocess *o) {
  memset(o, 0, sizeof *o);
  o->scale = 255.0f;
  if (!spec || !*spec) return NULL;
  char *copy = strdup(spec);
  if (!copy) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  ingot_status s = NULL;
  char key[16] = "";
  float *list = NULL; /* mean/std: values without "key=" continue it */
  int *list_n = NULL;
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok && !s;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    const char *val = tok;
    if (eq) {
      *eq = '\0';
      snprintf(key, sizeof key, "%s", tok);
      val = eq + 1;
      list = NULL;
      list_n = NULL;
    } else if (!list) {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--preprocess: '%s' is not KEY=VALUE", tok);
      break;
    }
    if (list) { /* continuation of mean= / std= */
      char *end;
      float f = strtof(val, &end);
      if (end == val || *end || !isfinite(f) || *list_n >= 3)
        s = pp_bad(key, val, "expected up to three numbers");
      else
        list[(*list_n)++] = f;
      continue;
    }
    bool two;
    if (strcmp(key, "resize") == 0) {
      int h, w;
      if (!parse_size(val, &h, &w, &two))
        s = pp_bad(key, val, "expected a size N (shorter side) or HxW");
      else if (two)
        o->resize_h = h, o->resize_w = w, o->resize = 0;
      else
        o->resize = h, o->resize_h = o->resize_w = 0;
    } else if (strcmp(key, "crop") == 0) {
      if (!parse_size(val, &o->crop_h, &o->crop_w, &two))
        s = pp_bad(key, val, "expected a size N or HxW");
    } else if (strcmp(key, "mean") == 0 || strcmp(key, "std") == 0) {
      bool is_mean = key[0] == 'm';
      list = is_mean ? o->mean : o->std;
      list_n = is_mean ? &o->n_mean : &o->n_std;
      *list_n = 0;
      char *end;
      float f = strtof(val, &end);
      if (end == val || *end || !isfinite(f))
        s = pp_bad(key, val, "expected a number");
      else if (!is_mean && f <= 0)
        s = pp_bad(key, val, "std must be > 0");
      else
        list[(*list_n)++] = f;
    } else if (strcmp(key, "scale") == 0) {
      char *end;
      float f = strtof(val, &end);
      if (end == val || *end || !isfinite(f) || f <= 0)
        s = pp_bad(key, val, "expected a number > 0");
      else
        o->scale = f;
    } else if (strcmp(key, "layout") == 0) {
      if (strcmp(val, "nchw") == 0) o->layout = IR_PP_NCHW;
      else if (strcmp(val, "nhwc") == 0) o->layout = IR_PP_NHWC;
      else s = pp_bad(key, val, "expected nchw or nhwc");
    } else if (strcmp(key, "color") == 0) {
      if (strcmp(val, "rgb") == 0) o->color = IR_PP_RGB;
      else if (strcmp(val, "bgr") == 0) o->color = IR_PP_BGR;
      else if (strcmp(val, "gray") == 0) o->color = IR_PP_GRAY;
      else s = pp_bad(key, val, "expected rgb, bgr or gray");
    } else {
      s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                            "--preprocess: unknown key '%s' (known: resize, "
                            "crop, mean, std, scale, layout, color)", key);
    }
  }
  if (!s && o->n_std)
    for (int i = 0; i < o->n_std; i++)
      if (o->std[i] <= 0)
        s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                              "--preprocess: std must be > 0");
  if (!s && (o->n_mean == 2 || o->n_std == 2))
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "--preprocess: mean and std take one value or "
                          "three (one per channel)");
  free(copy);
  return s;
}

/*===------------------------------------------------------------------===*/
/* Decoding                                                                */
/*===------------------------------------------------------------------===*/
static ingot_status read_file(const char *path, unsigned char **data,
                              size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return ingot_make_status(INGOT_NOT_FOUND, "%s: cannot open: %s", path,
                             strerror(errno));
  ingot_status s = NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *b = malloc(cap);
  while (b) {
    if (n == cap) {
      unsigned char *nb = cap < ((size_t)1 << 30) ? realloc(b, cap * 2) : NULL;
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
    size_t k = fread(b + n, 1, cap - n, f);
    n += k;
    if (k == 0) break;
  }
  if (!b)
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: too large to read",
                          path);
  else if (ferror(f))
    s = ingot_make_status(INGOT_DATA_LOSS, "%s: read error", path);
  fclose(f);
  if (s) {
    free(b);
    return s;
  }
  *data = b;
  *size = n;
  return NULL;
}

typedef struct jpeg_err {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr c) {
  jpeg_err *e = (jpeg_err *)c->err;
  (*c->err->format_message)(c, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings (level -1) become errors: see the file comment. */
static void jpeg_message(j_common_ptr c, int level) {
  jpeg_err *e = (jpeg_err *)c->err;
  if (level < 0 && e->msg[0] == '\0') {
    (*c->err->format_message)(c, e->msg);
    c->err->num_warnings++;
  }
}

static ingot_status decode_jpeg(const char *path, const unsigned char *data,
                                size_t size, ir_image *out) {
  struct jpeg_decompress_struct ci;
  jpeg_err err;
  memset(&err, 0, sizeof err);
  ci.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_message;
  /* volatile: modified between setjmp and a possible longjmp */
  uint8_t *volatile px = NULL;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&ci);
    free(px);
    return ingot_make_status(INGOT_DATA_LOSS, "%s: corrupt JPEG: %s", path,
                             err.msg);
  }
  jpeg_create_decompress(&ci);
  jpeg_mem_src(&ci, data, (unsigned long)size);
  jpeg_read_header(&ci, TRUE);
  if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&ci);
    return ingot_make_status(INGOT_UNIMPLEMENTED,
                             "%s: CMYK JPEG images are not supported", path);
  }
  bool gray = ci.jpeg_color_space == JCS_GRAYSCALE;
  ci.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&ci);
  int c = ci.output_components, w = (int)ci.output_width,
      h = (int)ci.output_height;
  if (w <= 0 || h <= 0 || (c != 1 && c != 3) ||
      (size_t)w * (size_t)h > ((size_t)1 << 26)) {
    jpeg_destroy_decompress(&ci);
    return ingot_make_status(INGOT_DATA_LOSS, "%s: unsupported JPEG size "
                             "%dx%d with %d components", path, w, h, c);
  }
  px = malloc((size_t)w * h * c);
  if (!px) {
    jpeg_destroy_decompress(&ci);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: out of memory",
                             path);
  }
  while (ci.output_scanline < ci.output_height) {
    JSAMPROW row = px + (size_t)ci.output_scanline * w * c;
    jpeg_read_scanlines(&ci, &row, 1);
  }
  jpeg_finish_decompress(&ci);
  jpeg_destroy_decompress(&ci);
  if (err.msg[0]) {
    free(px);
    return ingot_make_status(INGOT_DATA_LOSS, "%s: corrupt JPEG: %s", path,
                             err.msg);
  }
  *out = (ir_image){.w = w, .h = h, .c = c, .px = px};
  return NULL;
}

static ingot_status decode_png(const char *path, const unsigned char *data,
                               size_t size, ir_image *out) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&im, data, size))
    return ingot_make_status(INGOT_DATA_LOSS, "%s: corrupt PNG: %s", path,
                             im.message);
  /* Alpha is dropped (composited on black by libpng), colour kept. */
  bool gray = !(im.format & PNG_FORMAT_FLAG_COLOR);
  im.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  int c = gray ? 1 : 3;
  if (im.width == 0 || im.height == 0 ||
      (size_t)im.width * im.height > ((size_t)1 << 26)) {
    png_image_free(&im);
    return ingot_make_status(INGOT_DATA_LOSS, "%s: unsupported PNG size %ux%u",
                             path, im.width, im.height);
  }
  uint8_t *px = malloc(PNG_IMAGE_SIZE(im));
  if (!px) {
    png_image_free(&im);
    return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "%s: out of memory",
                             path);
  }
  if (!png_image_finish_read(&im, NULL, px, 0, NULL)) {
    ingot_status s = ingot_make_status(INGOT_DATA_LOSS, "%s: corrupt PNG: %s",
                                       path, im.message);
    free(px);
    png_image_free(&im);
    return s;
  }
  *out = (ir_image){.w = (int)im.width, .h = (int)im.height, .c = c, .px = px};
  return NULL;
}

ingot_status ir_image_read(const char *path, ir_image *out) {
  memset(out, 0, sizeof *out);
  unsigned char *data;
  size_t size;
  INGOT_RETURN_IF_ERROR(read_file(path, &data, &size));
  ingot_status s;
  if (size >= 8 && png_sig_cmp(data, 0, 8) == 0)
    s = decode_png(path, data, size, out);
  else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    s = decode_jpeg(path, data, size, out);
  else
    s = ingot_make_status(INGOT_DATA_LOSS,
                          "%s: not a PNG or JPEG image (bad signature)", path);
  free(data);
  return s;
}

void ir_image_free(ir_image *im) {
  free(im->px);
  memset(im, 0, sizeof *im);
}

/*===------------------------------------------------------------------===*/
/* Resize (PIL-style antialiased bilinear) and the pipeline                */
/*===------------------------------------------------------------------===*/
typedef struct taps {
  int *first, *count; /* per output pixel */
  float *w;           /* [out][maxn] */
  int maxn;
} taps;

static void taps_free(taps *t) {
  free(t->first);
  free(t->count);
  free(t->w);
}

/* Triangle filter over [0, in) for |out| outputs, PIL's ImagingResample
 * coefficient rule (support 1, widened by the shrink factor). */
static bool taps_make(int in, int out, taps *t) {
  double scale = (double)in / out;
  double fs = scale > 1.0 ? scale : 1.0;
  double support = fs;
  t->maxn = (int)ceil(support) * 2 + 1;
  t->first = malloc(sizeof(int) * out);
  t->count = malloc(sizeof(int) * out);
  t->w = malloc(sizeof(float) * (size_t)out * t->maxn);
  if (!t->first || !t->count || !t->w) return false;
  for (int o = 0; o < out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int)(center - support + 0.5);
    int hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in) hi = in;
    int n = hi - lo;
    if (n > t->maxn) n = t->maxn;
    double total = 0, wt[64 + 1];
    double *ww = n <= 64 ? wt : NULL;
    double *heap = NULL;
    if (!ww) ww = heap = malloc(sizeof(double) * n);
    if (!ww) return false;
    for (int k = 0; k < n; k++) {
      double x = (k + lo - center + 0.5) / fs;
      double f = fabs(x) < 1.0 ? 1.0 - fabs(x) : 0.0;
      ww[k] = f;
      total += f;
    }
    for (int k = 0; k < n; k++)
      t->w[(size_t)o * t->maxn + k] = (float)(total != 0 ? ww[k] / total : 0);
    free(heap);
    t->first[o] = lo;
    t->count[o] = n;
  }
  return true;
}

/* |src| [h][w][c] float -> |dst| [oh][ow][c]. */
static ingot_status resize(const float *src, int h, int w, int c, float *dst,
                           int oh, int ow) {
  taps th = {0}, tv = {0};
  float *mid = malloc(sizeof(float) * (size_t)h * ow * c);
  ingot_status s = NULL;
  if (!mid || !taps_make(w, ow, &th) || !taps_make(h, oh, &tv)) {
    s = ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "resize: out of memory");
    goto done;
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < ow; x++)
      for (int ch = 0; ch < c; ch++) {
        double acc = 0;
        const float *wt = th.w + (size_t)x * th.maxn;
        for (int k = 0; k < th.count[x]; k++)
          acc += wt[k] * src[((size_t)y * w + th.first[x] + k) * c + ch];
        mid[((size_t)y * ow + x) * c + ch] = (float)acc;
      }
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      for (int ch = 0; ch < c; ch++) {
        double acc = 0;
        const float *wt = tv.w + (size_t)y * tv.maxn;
        for (int k = 0; k < tv.count[y]; k++)
          acc += wt[k] * mid[((size_t)(tv.first[y] + k) * ow + x) * c + ch];
        dst[((size_t)y * ow + x) * c + ch] = (float)acc;
      }
done:
  free(mid);
  taps_free(&th);
  taps_free(&tv);
  return s;
}

ingot_status ir_image_to_tensor(const ir_image *im, const ir_preprocess *pp,
                                int c, int h, int w, bool nhwc,
                                const char *what, float *dst) {
  if (c != 1 && c != 3)
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: the input has %d channels; images give 1 "
                             "(gray) or 3 (rgb, bgr)", what, c);
  ir_pp_color color = pp->color ? pp->color : (c == 1 ? IR_PP_GRAY : IR_PP_RGB);
  if ((color == IR_PP_GRAY) != (c == 1))
    return ingot_make_status(INGOT_INVALID_ARGUMENT,
                             "%s: color=%s gives %d channels but the input "
                             "has %d", what, color == IR_PP_GRAY ? "gray"
                             : color == IR_PP_BGR ? "bgr" : "rgb",
                             color == IR_PP_GRAY ? 1 : 3, c);
  /* 1. colour, in float */
  size_t n = (size_t)im->w * im->h;
  float *a = malloc(sizeof(float) * n * c);
  float *b = NULL;
  if (!a) return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = im->px + i * im->c;
    if (c == 1) {
      a[i] = im->c == 1 ? p[0]
                        : (p[0] * 299.0f + p[1] * 587.0f + p[2] * 114.0f) /
                              1000.0f;
    } else {
      float r = p[0], g = im->c == 1 ? p[0] : p[1], bl = im->c == 1 ? p[0] : p[2];
      a[i * 3 + 0] = color == IR_PP_BGR ? bl : r;
      a[i * 3 + 1] = g;
      a[i * 3 + 2] = color == IR_PP_BGR ? r : bl;
    }
  }
  /* 2. resize */
  int ih = im->h, iw = im->w;
  int rh = ih, rw = iw;
  if (pp->resize) {
    int sh = ih < iw ? ih : iw, lg = ih < iw ? iw : ih;
    int nl = (int)((double)pp->resize * lg / sh);
    if (ih < iw) rh = pp->resize, rw = nl;
    else rw = pp->resize, rh = nl;
  } else if (pp->resize_h) {
    rh = pp->resize_h, rw = pp->resize_w;
  } else if (!pp->crop_h) {
    rh = h, rw = w; /* no geometry given: straight to the input's size */
  }
  ingot_status s = NULL;
  if (rh != ih || rw != iw) {
    b = malloc(sizeof(float) * (size_t)rh * rw * c);
    if (!b) {
      free(a);
      return ingot_make_status(INGOT_RESOURCE_EXHAUSTED, "out of memory");
    }
    s = resize(a, ih, iw, c, b, rh, rw);
    free(a);
    a = b;
    b = NULL;
    if (s) goto done;
  }
  /* 3. centre crop to the input's size */
  int ch = pp->crop_h ? pp->crop_h : h, cw = pp->crop_w ? pp->crop_w : w;
  if (ch != h || cw != w) {
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "%s: crop %dx%d does not give the input's %dx%d",
                          what, ch, cw, h, w);
    goto done;
  }
  if (ch > rh || cw > rw) {
    s = ingot_make_status(INGOT_INVALID_ARGUMENT,
                          "%s: the image is %dx%d after resizing, smaller "
                          "than the %dx%d the input needs", what, rh, rw, ch,
                          cw);
    goto done;
  }
  int top = (int)rint((rh - ch) / 2.0), left = (int)rint((rw - cw) / 2.0);
  /* 4. scale, mean/std, layout */
  for (int k = 0; k < c; k++) {
    float mean = pp->n_mean == 0 ? 0.0f : pp->mean[pp->n_mean == 1 ? 0 : k];
    float sd = pp->n_std == 0 ? 1.0f : pp->std[pp->n_std == 1 ? 0 : k];
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        float v = a[((size_t)(y + top) * rw + (x + left)) * c + k];
        v = (v / pp->scale - mean) / sd;
        if (nhwc)
          dst[((size_t)y * w + x) * c + k] = v;
        else
          dst[((size_t)k * h + y) * w + x] = v;
      }
  }
done:
  free(a);
  free(b);
  return s;
}
