/* calib_hist.c — streaming |x| histograms and the threshold methods of
 * calibration (percentile, entropy, mse).
 *
 * Why |x| over a fixed range: a 2048-bin histogram of |x| on [0, amax],
 * amax known before filling (calibration runs the data twice: min/max,
 * then histograms), costs the same memory for 10 samples or 10^6, and
 * each element lands in the same bin however the samples are batched, so
 * the result is exactly independent of the batch size.  The alternative,
 * growing the range and re-binning as larger values arrive (ONNX Runtime's
 * collector), makes the bins depend on the order and grouping of the
 * data.  The cost is a second run of the reference over the data.
 *
 * The methods return a threshold T on |x| (the quantise pass then uses
 * [max(min, -T), min(max, T)]); each is O(bins) per candidate at worst
 * thanks to prefix sums, so a model with hundreds of tensors takes
 * milliseconds:
 *  - percentile p: T = upper edge of the first bin where the cumulative
 *    count reaches p% of all elements;
 *  - entropy (TensorRT's KL method, our formulation): for every i in
 *    [L, 2048] the reference P is bins [0, i) with the mass of bins >= i
 *    (the outliers) added to bin i-1; the candidate Q quantises bins
 *    [0, i) without the outliers into L chunks (chunk j is bins
 *    [j*i/L, (j+1)*i/L), integer division) and spreads each chunk's
 *    mass evenly over the chunk's nonzero bins.  Both are normalised and
 *    the first i with the smallest KL(P||Q) wins, T = i*w.  Where Q is 0
 *    and P is not (bin i-1 empty but outliers beyond it) KL is infinite
 *    and i is skipped; TensorRT-style implementations smooth instead,
 *    which makes such i merely very bad.  Two adjustments make it usable
 *    on real activations (without them it clipped MNIST's input and the
 *    sample CNNs to 2-7 dB SQNR): L is 256 levels for a tensor with no
 *    negative values (a u8 range spends all 256 codes on [0, T]) and 128
 *    otherwise; and bin 0 counts as bin 1 does, because the spike of
 *    exact zeros (ReLU outputs, image borders) would otherwise dominate
 *    the divergence of the first chunk and drive T to the smallest i,
 *    where every chunk is a single bin;
 *  - mse: for T = i*w, i in [1, 2048], the expected squared error of
 *    rounding to a step s = (min(max,T) - max(min,-T)) / 255 (the u8 range
 *    this T gives), modelled as s^2/12 for the elements below T, plus the
 *    clipping error (c - T)^2 of the bins above (c = bin centre).
 * tests/calib/test_calib.py checks each against a direct numpy version.
 */
#include <math.h>
#include <string.h>

#include "calib_internal.h"

void calib_hist_init(calib_hist *h, double amax) {
  memset(h, 0, sizeof *h);
  h->amax = amax;
}

size_t calib_hist_add(calib_hist *h, const float *x, size_t n) {
  size_t bad = 0;
  double k = h->amax > 0 ? CALIB_BINS / h->amax : 0;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) {
      bad++;
      continue;
    }
    double b = fabs((double)v) * k;
    size_t idx = b >= CALIB_BINS ? CALIB_BINS - 1 : (size_t)b;
    h->bins[idx]++;
  }
  h->total += n - bad;
  return bad;
}

static double percentile_t(const calib_hist *h, double p) {
  double w = h->amax / CALIB_BINS;
  double target = p / 100.0 * (double)h->total;
  uint64_t cum = 0;
  for (int i = 0; i < CALIB_BINS; i++) {
    cum += h->bins[i];
    if ((double)cum >= target) return (i + 1) * w;
  }
  return h->amax;
}

static double xlogx(double x) { return x > 0 ? x * log(x) : 0.0; }

static double entropy_t(const calib_hist *h, bool unsigned_range) {
  const int L = unsigned_range ? 2 * CALIB_ENTROPY_LEVELS : CALIB_ENTROPY_LEVELS;
  double w = h->amax / CALIB_BINS;
  /* The counts the method sees: bin 0 takes bin 1's count (see above). */
  static const int N = CALIB_BINS;
  uint64_t bins[CALIB_BINS];
  memcpy(bins, h->bins, sizeof bins);
  bins[0] = bins[1];
  /* prefix sums: mass, count of nonzero bins, sum of b log b */
  double mass[CALIB_BINS + 1], plogp[CALIB_BINS + 1];
  int nz[CALIB_BINS + 1];
  mass[0] = plogp[0] = 0;
  nz[0] = 0;
  for (int k = 0; k < N; k++) {
    double b = (double)bins[k];
    mass[k + 1] = mass[k] + b;
    plogp[k + 1] = plogp[k] + xlogx(b);
    nz[k + 1] = nz[k] + (bins[k] > 0);
  }
  double total = mass[N];
  if (total <= 0) return 0;
  int best = N;
  double best_kl = INFINITY;
  for (int i = L; i <= N; i++) {
    double outliers = total - mass[i];
    if (outliers > 0 && bins[i - 1] == 0) continue; /* Q = 0 < P */
    double last = (double)bins[i - 1] + outliers; /* P[i-1] */
    double sum_plogp = plogp[i - 1] + xlogx(last);
    /* sum P log Q: Q is constant (C/nz) over a chunk's nonzero bins */
    double plogq = 0;
    for (int j = 0; j < L; j++) {
      int a = (int)((long)j * i / L), b = (int)((long)(j + 1) * i / L);
      double c = mass[b] - mass[a];
      int cnt = nz[b] - nz[a];
      if (c <= 0) continue;
      double pmass = b == i ? c + outliers : c;
      plogq += pmass * log(c / cnt);
    }
    /* P sums to |total|, Q to mass[i]: normalise both */
    double kl = (sum_plogp - plogq) / total + log(mass[i] / total);
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return best * w;
}

static double mse_t(const calib_hist *h, float min, float max) {
  double w = h->amax / CALIB_BINS;
  static const int N = CALIB_BINS;
  /* suffix sums over bins >= i of h, h*c, h*c^2 (c = bin centre) */
  double s0[CALIB_BINS + 1], s1[CALIB_BINS + 1], s2[CALIB_BINS + 1];
  s0[N] = s1[N] = s2[N] = 0;
  for (int k = N - 1; k >= 0; k--) {
    double b = (double)h->bins[k], c = (k + 0.5) * w;
    s0[k] = s0[k + 1] + b;
    s1[k] = s1[k + 1] + b * c;
    s2[k] = s2[k + 1] + b * c * c;
  }
  if (s0[0] <= 0 || w <= 0) return 0;
  int best = N;
  double best_e = INFINITY;
  for (int i = 1; i <= N; i++) {
    double t = i * w;
    double hi = max < t ? max : t, lo = min > -t ? min : -t;
    if (hi < 0) hi = 0;
    if (lo > 0) lo = 0;
    double step = (hi - lo) / 255.0;
    double inside = s0[0] - s0[i];
    double clip = s2[i] - 2 * t * s1[i] + t * t * s0[i];
    double e = inside * step * step / 12.0 + clip;
    if (e < best_e) {
      best_e = e;
      best = i;
    }
  }
  return best * w;
}

double calib_threshold(const calib_hist *h, calib_method m, double percentile,
                       float min, float max) {
  switch (m) {
  case CALIB_PERCENTILE:
    return percentile_t(h, percentile > 0 ? percentile : 99.99);
  case CALIB_ENTROPY:
    return entropy_t(h, min >= 0);
  case CALIB_MSE:
    return mse_t(h, min, max);
  case CALIB_MINMAX:
    break;
  }
  return h->amax;
}

void calib_range_from(calib_range *r, calib_method m, double t) {
  float lo = r->min, hi = r->max;
  if (m != CALIB_MINMAX) {
    if (lo < -t) lo = (float)-t;
    if (hi > t) hi = (float)t;
  }
  r->lo = lo < 0 ? lo : 0.0f;
  r->hi = hi > 0 ? hi : 0.0f;
}
