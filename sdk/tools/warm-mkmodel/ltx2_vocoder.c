/* LTX-2 vocoder tensor plans: the 2.0 HiFi-GAN (ltx-core Vocoder, resblock
 * "1") and the 2.3 VocoderWithBWE (two AMP1/SnakeBeta generators and the
 * causal mel STFT). The 2.3 constant buffers are computed as the reference
 * computes them, not drawn at random:
 *   - every Activation1d's upsample.filter and downsample.lowpass.filter:
 *     kaiser_sinc_filter1d(cutoff 0.25, half_width 0.3, 12 taps);
 *   - mel_stft.stft_fn.forward_basis: DFT rows (real parts of bins 0..N/2,
 *     then imaginary parts) times the periodic Hann window;
 *   - mel_stft.stft_fn.inverse_basis: the pseudo-inverse of (N/hop) x the
 *     DFT rows, transposed, times the window (closed form below);
 *   - mel_stft.mel_basis: the Slaney mel filterbank (librosa's default,
 *     fmin 0, fmax sr/2). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mk_ltx2.h"

/* Modified Bessel function of the first kind, order 0 (power series). */
static double bessel_i0(double x) {
  double sum = 1, term = 1, q = x * x / 4;
  for (int k = 1; k < 200 && term > 1e-17 * sum; k++) {
    term *= q / ((double)k * k);
    sum += term;
  }
  return sum;
}

/* ltx-core's kaiser_sinc_filter1d(cutoff, half_width, kernel_size) with
 * torch.kaiser_window(periodic=False). */
static void kaiser_fill(const mk_tensor *t, float *out) {
  double cutoff = t->arg[0], half_width = t->arg[1];
  int k = (int)t->shape[2];
  int even = k % 2 == 0, half = k / 2;
  double delta_f = 4 * half_width;
  double amp = 2.285 * (half - 1) * M_PI * delta_f + 7.95, beta = 0;
  if (amp > 50.0)
    beta = 0.1102 * (amp - 8.7);
  else if (amp >= 21.0)
    beta = 0.5842 * pow(amp - 21, 0.4) + 0.07886 * (amp - 21.0);
  double f[64], sum = 0;
  for (int n = 0; n < k && n < 64; n++) {
    double r = 2.0 * n / (k - 1) - 1;
    double w = bessel_i0(beta * sqrt(1 - r * r)) / bessel_i0(beta);
    double time = even ? (n - half) + 0.5 : n - half;
    double x = 2 * cutoff * time;
    double sinc = x == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
    f[n] = 2 * cutoff * w * sinc;
    sum += f[n];
  }
  for (int n = 0; n < k && n < 64; n++)
    out[n] = (float)(cutoff == 0 ? 0 : f[n] / sum);
}

/* Rows 0..N/2: cos(2 pi k n / N) w[n]; rows N/2+1..: -sin(2 pi k n / N) w[n]
 * (numpy's fft(eye(N)) real / imaginary parts). arg[2] = 1 gives the
 * inverse basis: pinv((N/hop) F)^T, which for these rows is F scaled by
 * hop/N^2 for bins 0 and N/2 and 2 hop/N^2 for the others. */
static void stft_fill(const mk_tensor *t, float *out) {
  int64_t N = (int64_t)t->arg[0], cut = N / 2 + 1;
  double hop = t->arg[1];
  int inverse = t->arg[2] != 0;
  for (int64_t r = 0; r < 2 * cut; r++) {
    int64_t k = r < cut ? r : r - cut;
    double c = 1;
    if (inverse) c = (k == 0 || 2 * k == N ? 1.0 : 2.0) * hop / ((double)N * N);
    for (int64_t n = 0; n < N; n++) {
      double w = 0.5 - 0.5 * cos(2 * M_PI * (double)n / (double)N);
      double a = 2 * M_PI * (double)((k * n) % N) / (double)N;
      double v = r < cut ? cos(a) : -sin(a);
      out[r * N + n] = (float)(v * w * c);
    }
  }
}

static double hz_to_mel(double f) {
  return f >= 1000.0 ? 15.0 + log(f / 1000.0) / (log(6.4) / 27.0)
                     : f / (200.0 / 3.0);
}

static double mel_to_hz(double m) {
  return m >= 15.0 ? 1000.0 * exp(log(6.4) / 27.0 * (m - 15.0))
                   : m * (200.0 / 3.0);
}

/* librosa.filters.mel(sr, n_fft, n_mels): Slaney scale, area-normalised. */
static void mel_fill(const mk_tensor *t, float *out) {
  double sr = t->arg[0];
  int64_t n_mels = t->shape[0], n_freq = t->shape[1];
  double mel[1026];
  double lo = hz_to_mel(0.0), hi = hz_to_mel(sr / 2);
  for (int64_t i = 0; i < n_mels + 2 && i < 1026; i++)
    mel[i] = mel_to_hz(lo + (hi - lo) * (double)i / (double)(n_mels + 1));
  for (int64_t m = 0; m < n_mels; m++) {
    double enorm = 2.0 / (mel[m + 2] - mel[m]);
    for (int64_t f = 0; f < n_freq; f++) {
      double hz = sr / 2 * (double)f / (double)(n_freq - 1);
      double lower = (hz - mel[m]) / (mel[m + 1] - mel[m]);
      double upper = (mel[m + 2] - hz) / (mel[m + 2] - mel[m + 1]);
      double w = fmin(lower, upper);
      out[m * n_freq + f] = (float)(w > 0 ? w * enorm : 0.0);
    }
  }
}

/* Activation1d(SnakeBeta(ch)): alpha/beta (log scale) and the two anti-alias
 * filters. */
static int act1d(mk_plan *p, const char *pre, int64_t ch, warm_error *err) {
  static const double arg[2] = {0.25, 0.3};
  int64_t s[1] = {ch}, f[3] = {1, 1, 12};
  int rc = mk_plan_add(p, MK_NORMAL, 0, 0.05f, 1, s, err, "%s.act.alpha", pre);
  rc = rc ? rc
          : mk_plan_add(p, MK_NORMAL, 0, 0.05f, 1, s, err, "%s.act.beta", pre);
  rc = rc ? rc
          : mk_plan_add_func(p, kaiser_fill, arg, 2, 3, f, err,
                             "%s.downsample.lowpass.filter", pre);
  rc = rc ? rc
          : mk_plan_add_func(p, kaiser_fill, arg, 2, 3, f, err,
                             "%s.upsample.filter", pre);
  return rc;
}

/* One generator (ltx-core Vocoder) under `pre` ("vocoder." for 2.0). */
static int generator(mk_plan *p, const char *pre, const json_t *g,
                     warm_error *err) {
  int64_t init;
  int rc = lx_int(g, "upsample_initial_channel", &init, err);
  if (rc) return rc;
  const json_t *rates = json_object_get(g, "upsample_rates");
  const json_t *kern = json_object_get(g, "upsample_kernel_sizes");
  const json_t *rbk = json_object_get(g, "resblock_kernel_sizes");
  const json_t *dil = json_object_get(g, "resblock_dilation_sizes");
  size_t nu = json_array_size(rates), nk = json_array_size(rbk);
  if (nu == 0 || nu != json_array_size(kern) || nk == 0 ||
      nk != json_array_size(dil))
    return warm_error_set(err, WARM_EINVAL,
                          "%s: upsample_rates / upsample_kernel_sizes and "
                          "resblock_kernel_sizes / resblock_dilation_sizes "
                          "must be non-empty pairs of one length",
                          pre);
  const json_t *rb = json_object_get(g, "resblock");
  int amp = json_is_string(rb) && strcmp(json_string_value(rb), "AMP1") == 0;
  int final_bias = lx_bool(g, "use_bias_at_final", 1);
  char n[200];
  int64_t k7[1] = {7};
  snprintf(n, sizeof n, "%sconv_pre", pre);
  rc = lx_conv(p, n, init, 128, 1, k7, 1, err);
  for (size_t i = 0; !rc && i < nu; i++) {
    /* ConvTranspose1d weight: [in, out, k]. */
    int64_t cin = init >> i, cout = init >> (i + 1);
    int64_t w[3] = {cin, cout, json_integer_value(json_array_get(kern, i))};
    int64_t b[1] = {cout};
    rc = mk_plan_add(p, MK_NORMAL, 0, 0.5f / sqrtf((float)(cin * w[2])), 3, w,
                     err, "%sups.%zu.weight", pre, i);
    rc = rc ? rc
            : mk_plan_add(p, MK_NORMAL, 0, 0.02f, 1, b, err, "%sups.%zu.bias",
                          pre, i);
  }
  for (size_t i = 0; !rc && i < nu; i++) {
    int64_t ch = init >> (i + 1);
    for (size_t j = 0; !rc && j < nk; j++) {
      size_t r = i * nk + j;
      int64_t k[1] = {json_integer_value(json_array_get(rbk, j))};
      for (int c = 0; !rc && c < 3; c++) {
        snprintf(n, sizeof n, "%sresblocks.%zu.convs1.%d", pre, r, c);
        rc = lx_conv(p, n, ch, ch, 1, k, 1, err);
      }
      for (int c = 0; !rc && c < 3; c++) {
        snprintf(n, sizeof n, "%sresblocks.%zu.convs2.%d", pre, r, c);
        rc = lx_conv(p, n, ch, ch, 1, k, 1, err);
      }
      for (int a = 0; amp && !rc && a < 6; a++) {
        snprintf(n, sizeof n, "%sresblocks.%zu.acts%d.%d", pre, r, 1 + a / 3,
                 a % 3);
        rc = act1d(p, n, ch, err);
      }
    }
  }
  int64_t fin = init >> nu;
  if (!rc && amp) {
    snprintf(n, sizeof n, "%sact_post", pre);
    rc = act1d(p, n, fin, err);
  }
  snprintf(n, sizeof n, "%sconv_post", pre);
  return rc ? rc : lx_conv(p, n, 2, fin, 1, k7, final_bias, err);
}

int lx_plan_vocoder(mk_plan *p, const json_t *voc, warm_error *err) {
  const json_t *bwe = json_object_get(voc, "bwe");
  if (!bwe) return generator(p, "vocoder.", voc, err);
  int rc =
      generator(p, "vocoder.vocoder.", json_object_get(voc, "vocoder"), err);
  rc = rc ? rc : generator(p, "vocoder.bwe_generator.", bwe, err);
  int64_t nfft, hop, mels, sr;
  rc = rc ? rc : lx_int(bwe, "n_fft", &nfft, err);
  rc = rc ? rc : lx_int(bwe, "hop_length", &hop, err);
  rc = rc ? rc : lx_int(bwe, "num_mels", &mels, err);
  rc = rc ? rc : lx_int(bwe, "input_sampling_rate", &sr, err);
  if (rc) return rc;
  if (mels > 1024 || nfft > 4096 || nfft % 2)
    return warm_error_set(err, WARM_EINVAL,
                          "vocoder.bwe: n_fft %lld (even, <= 4096), num_mels "
                          "%lld (<= 1024)",
                          (long long)nfft, (long long)mels);
  int64_t cut = nfft / 2 + 1, mb[2] = {mels, cut}, fb[3] = {2 * cut, 1, nfft};
  double ma[1] = {(double)sr}, fa[3] = {(double)nfft, (double)hop, 0},
         ia[3] = {(double)nfft, (double)hop, 1};
  rc = mk_plan_add_func(p, mel_fill, ma, 1, 2, mb, err,
                        "vocoder.mel_stft.mel_basis");
  rc = rc ? rc
          : mk_plan_add_func(p, stft_fill, fa, 3, 3, fb, err,
                             "vocoder.mel_stft.stft_fn.forward_basis");
  rc = rc ? rc
          : mk_plan_add_func(p, stft_fill, ia, 3, 3, fb, err,
                             "vocoder.mel_stft.stft_fn.inverse_basis");
  return rc;
}
