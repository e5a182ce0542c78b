/* test_int8_accuracy.c — an int8 engine against its fp32 engine and the
 * reference interpreter (issue 4, "Done means").
 *
 * usage: test_int8_accuracy FP32_ENGINE INT8_ENGINE QUANT_IR.xml DIR
 *                           MIN_AGREE_PCT MIN_SQNR_DB [N_EXACT]
 *
 * For every .npy file in DIR (one model input each, held out from
 * calibration):
 * runs both engines and counts top-1 agreement of the first output, and the
 * output SQNR of int8 against fp32 over all inputs.  For the first N_EXACT
 * inputs (default 8) it also runs the reference interpreter on
 * QUANT_IR.xml — the int8 engine's graph after qdq-fold, written by
 * `ingot build --dump-ir qdq-fold` — and requires the engine's output to be
 * bit-identical (DESIGN §5: kernels and reference agree bit for bit).
 * Fails when agreement < MIN_AGREE_PCT or SQNR < MIN_SQNR_DB.  Prints the
 * figures.  Budget: a few seconds for 200 32x32 inputs under ASan.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "ingot/ingot.h"
#include "ir.h"
#include "xml.h"

#define MAX_OUT 4096

static int argmax(const float *p, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (p[i] > p[best]) best = i;
  return (int)best;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool run_engine(ingot_session *s, const ir_value *in, float *out,
                       size_t n_out) {
  ingot_status st = ingot_session_set_input(s, 0, INGOT_FLOAT32, in->data,
                                            ir_value_nbytes(in));
  if (!st) st = ingot_session_run(s);
  if (!st) st = ingot_session_get_output(s, 0, INGOT_FLOAT32, out,
                                         n_out * sizeof(float));
  CHECK_OK(st);
  return st == NULL;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: test_int8_accuracy FP32_ENGINE INT8_ENGINE "
                    "QUANT_IR.xml DIR MIN_AGREE_PCT MIN_SQNR_DB [N_EXACT]\n");
    return 2;
  }
  double min_agree = atof(argv[5]), min_sqnr = atof(argv[6]);
  int n_exact = argc > 7 ? atoi(argv[7]) : 8;
  ingot_engine *ef = NULL, *eq = NULL;
  ingot_session *sf = NULL, *sq = NULL;
  CHECK_OK(ingot_engine_load_file(argv[1], &ef));
  CHECK_OK(ingot_engine_load_file(argv[2], &eq));
  if (!ef || !eq) return check_report("test_int8_accuracy");
  CHECK_OK(ingot_session_create(ef, NULL, &sf));
  CHECK_OK(ingot_session_create(eq, NULL, &sq));
  ir_graph *g = NULL;
  CHECK_OK(ir_import_xml_file(argv[3], NULL, &g));
  if (!sf || !sq || !g) return check_report("test_int8_accuracy");

  DIR *d = opendir(argv[4]);
  CHECK(d != NULL);
  char **files = NULL;
  size_t nf = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".npy")) continue;
    files = realloc(files, (nf + 1) * sizeof *files);
    files[nf] = malloc(strlen(argv[4]) + len + 2);
    sprintf(files[nf], "%s/%s", argv[4], e->d_name);
    nf++;
  }
  if (d) closedir(d);
  qsort(files, nf, sizeof *files, cmp_str);
  CHECK(nf > 0);

  static float of[MAX_OUT], oq[MAX_OUT];
  size_t n_out = 0;
  int agree = 0, exact = 0, tested_exact = 0;
  double sig = 0, err = 0;
  for (size_t i = 0; i < nf; i++) {
    ir_value in = {0};
    CHECK_OK(ir_read_npy(files[i], &in));
    if (!in.data) continue;
    ir_value ref = {0};
    bool do_exact = (int)i < n_exact;
    if (do_exact) CHECK_OK(ir_interp_run(g, &in, &ref, NULL));
    n_out = do_exact && ref.data ? ir_shape_numel(&ref.shape)
            : n_out                ? n_out
                                   : 10;
    if (n_out > MAX_OUT) n_out = MAX_OUT;
    if (run_engine(sf, &in, of, n_out) && run_engine(sq, &in, oq, n_out)) {
      agree += argmax(of, n_out) == argmax(oq, n_out);
      for (size_t k = 0; k < n_out; k++) {
        sig += (double)of[k] * of[k];
        err += ((double)of[k] - oq[k]) * ((double)of[k] - oq[k]);
      }
      if (do_exact && ref.data) {
        tested_exact++;
        bool same = memcmp(ref.data, oq, n_out * sizeof(float)) == 0;
        exact += same;
        if (!same) {
          for (size_t k = 0; k < n_out; k++)
            if (memcmp(&((float *)ref.data)[k], &oq[k], sizeof(float))) {
              fprintf(stderr, "%s: output[%zu]: engine %.9g, reference %.9g\n",
                      files[i], k, oq[k], ((float *)ref.data)[k]);
              break;
            }
          check_failures++;
        }
      }
    }
    ir_value_free(&ref);
    ir_value_free(&in);
  }
  double pct = nf ? 100.0 * agree / (double)nf : 0;
  double sqnr = 10 * log10(sig / (err > 0 ? err : 1e-30));
  printf("%s: top-1 agreement with fp32 %d/%zu (%.1f%%), output SQNR %.1f dB; "
         "bit-exact with the reference on %d/%d\n",
         argv[2], agree, nf, pct, sqnr, exact, tested_exact);
  if (pct < min_agree) {
    fprintf(stderr, "top-1 agreement %.1f%% is below %.1f%%\n", pct,
            min_agree);
    check_failures++;
  }
  if (sqnr < min_sqnr) {
    fprintf(stderr, "SQNR %.1f dB is below %.1f dB\n", sqnr, min_sqnr);
    check_failures++;
  }
  CHECK(tested_exact > 0);
  for (size_t i = 0; i < nf; i++) free(files[i]);
  free(files);
  ir_graph_destroy(g);
  ingot_session_destroy(sf);
  ingot_session_destroy(sq);
  ingot_engine_release(ef);
  ingot_engine_release(eq);
  return check_report("test_int8_accuracy");
}
