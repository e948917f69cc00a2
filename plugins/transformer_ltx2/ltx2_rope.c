/* Host-side tables: RoPE cos/sin from per-token position bounds, exactly
 * in ltx-core's float order (rope.py), and the per-token timestep segments
 * the forward pass modulates by. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

/* The frequency grid theta^(linspace(0, 1, n)) * pi / 2: numpy float64
 * (generate_freq_grid_np) rounded once to f32, or torch float32
 * (generate_freq_grid_pytorch). */
static void freq_grid(int f64, double theta, int64_t n, float *out) {
  if (f64) {
    double step = n > 1 ? 1.0 / (double)(n - 1) : 0.0;
    for (int64_t j = 0; j < n; j++) {
      double y = n > 1 && j == n - 1 ? 1.0 : (double)j * step;
      out[j] = (float)(pow(theta, y) * M_PI / 2.0);
    }
    return;
  }
  float step = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
  int64_t halfway = n / 2;
  for (int64_t j = 0; j < n; j++) {
    float x = j < halfway ? step * (float)j : 1.0f - step * (float)(n - j - 1);
    if (n == 1) x = 0.0f;
    float f = powf((float)theta, x);
    f = f * (float)M_PI;
    out[j] = f / 2.0f;
  }
}

/* bf16 rounding of one torch bf16 op's f32 result. */
static float rb(float x) {
  return wk_bf16_to_f32(wk_f32_to_bf16(x));
}

int lx_rope_tables(const lx_cfg *c, const float *pos, int64_t B, int64_t N,
                   int64_t P_total, int64_t P, const int64_t *max_pos,
                   int64_t C, int64_t heads, int bf16, float *cos_t,
                   float *sin_t) {
  int64_t n = C / (2 * P);
  float *ind = malloc((size_t)(n > 0 ? n : 1) * sizeof *ind);
  float *ang = malloc((size_t)(C / 2 + 1) * sizeof *ang);
  if (!ind || !ang) {
    free(ind);
    free(ang);
    return WARM_ENOMEM;
  }
  freq_grid(c->f64, c->theta, n, ind);
  int64_t nang = n * P;
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < N; t++) {
      float g[3]; /* 2 frac - 1 per axis */
      for (int64_t a = 0; a < P; a++) {
        const float *pp = pos + ((b * P_total + a) * N + t) * 2;
        if (bf16) { /* positions cast to bf16, every op rounded */
          float mid = rb(rb(rb(pp[0]) + rb(pp[1])) / 2.0f);
          float frac = rb(mid / (float)max_pos[a]);
          g[a] = rb(rb(frac * 2.0f) - 1.0f);
        } else {
          float mid = (pp[0] + pp[1]) / 2.0f;
          float frac = mid / (float)max_pos[a];
          g[a] = frac * 2.0f - 1.0f;
        }
      }
      /* j-major, axis-minor: angle[j * P + a] = w_j * (2 frac_a - 1). */
      for (int64_t j = 0; j < n; j++)
        for (int64_t a = 0; a < P; a++)
          ang[j * P + a] = ind[j] * g[a];
      int64_t row = b * N + t;
      if (c->split) {
        /* Front pad to C/2 angles (cos 1, sin 0); head h takes the slice
         * [h * C/(2H), (h+1) * C/(2H)), used for both halves of its dims. */
        int64_t half = C / 2, pad = half - nang, hd = C / heads, hh = hd / 2;
        for (int64_t h = 0; h < heads; h++) {
          float *co = cos_t + (row * heads + h) * hd;
          float *si = sin_t + (row * heads + h) * hd;
          for (int64_t i = 0; i < hh; i++) {
            int64_t k = h * hh + i;
            float cv = 1.0f, sv = 0.0f;
            if (k >= pad) {
              cv = cosf(ang[k - pad]);
              sv = sinf(ang[k - pad]);
            }
            co[i] = co[i + hh] = cv;
            si[i] = si[i + hh] = sv;
          }
        }
      } else {
        int64_t pad = C % (2 * P);
        float *co = cos_t + row * C, *si = sin_t + row * C;
        for (int64_t i = 0; i < pad; i++) {
          co[i] = 1.0f;
          si[i] = 0.0f;
        }
        for (int64_t k = 0; k < nang; k++) {
          co[pad + 2 * k] = co[pad + 2 * k + 1] = cosf(ang[k]);
          si[pad + 2 * k] = si[pad + 2 * k + 1] = sinf(ang[k]);
        }
      }
    }
  free(ind);
  free(ang);
  return 0;
}

/* Distinct values of ts [B, N] (bitwise equal floats are one value) and
 * the runs of equal values within each pass. */
int lx_segments(const float *ts, int64_t B, int64_t N, int64_t max_vals,
                lx_segs *s) {
  memset(s, 0, sizeof *s);
  s->val = malloc((size_t)max_vals * sizeof *s->val);
  s->seg = malloc((size_t)(B * N > 0 ? B * N : 1) * sizeof *s->seg);
  if (!s->val || !s->seg) {
    lx_segs_free(s);
    return WARM_ENOMEM;
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < N; t++) {
      float x = ts[b * N + t];
      int64_t u = -1;
      for (int64_t i = 0; i < s->n_val && u < 0; i++)
        if (!memcmp(&s->val[i], &x, sizeof x)) u = i;
      if (u < 0) {
        if (s->n_val >= max_vals) {
          lx_segs_free(s);
          return WARM_EINVAL;
        }
        u = s->n_val;
        s->val[s->n_val++] = x;
      }
      lx_seg *last = s->n_seg ? &s->seg[s->n_seg - 1] : NULL;
      if (t > 0 && last && last->u == u)
        last->len++;
      else
        s->seg[s->n_seg++] = (lx_seg){b * N + t, 1, u};
    }
  return 0;
}

void lx_segs_free(lx_segs *s) {
  free(s->val);
  free(s->seg);
  memset(s, 0, sizeof *s);
}
