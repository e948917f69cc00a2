/* ltx-core's tiled decode (video_vae.py _prepare_tiles / tiled_decode,
 * tiling.py): latent tiles overlapping in space and time, each decoded
 * alone, weighted by a separable trapezoid mask in pixel space and
 * accumulated; the sum of weighted tiles is divided by the sum of weights.
 * Tiles are visited in the reference's order (time outermost). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lv2.h"

#define MAXT 4096

/* One axis split into intervals [s, e) with blend ramps (latent units). */
typedef struct axis {
  int n;
  int64_t s[MAXT], e[MAXT], l[MAXT], r[MAXT];
} axis;

static void split_none(axis *a, int64_t len) {
  a->n = 1;
  a->s[0] = 0;
  a->e[0] = len;
  a->l[0] = a->r[0] = 0;
}

/* split_with_symmetric_overlaps(size, overlap). */
static void split_sym(axis *a, int64_t len, int64_t size, int64_t overlap) {
  if (len <= size || size <= overlap) {
    split_none(a, len);
    return;
  }
  int64_t amount = (len + size - 2 * overlap - 1) / (size - overlap);
  if (amount > MAXT) amount = MAXT;
  a->n = (int)amount;
  for (int64_t i = 0; i < amount; i++) {
    a->s[i] = i * (size - overlap);
    a->e[i] = a->s[i] + size;
    a->l[i] = i ? overlap : 0;
    a->r[i] = i + 1 < amount ? overlap : 0;
  }
  a->e[amount - 1] = len;
}

/* split_temporal_latents: non-first tiles start one latent earlier and
 * ramp one longer (causal context). */
static void split_time(axis *a, int64_t len, int64_t size, int64_t overlap) {
  if (len <= size) {
    split_none(a, len);
    return;
  }
  split_sym(a, len, size, overlap);
  for (int i = 1; i < a->n; i++) {
    a->s[i] -= 1;
    a->l[i] += 1;
  }
}

static void plan_axes(const lv2 *v, int64_t F, int64_t H, int64_t W, axis *at,
                      axis *ah, axis *aw) {
  const lv2_opts *o = &v->opts;
  if (!o->tiling) {
    split_none(at, F);
    split_none(ah, H);
    split_none(aw, W);
    return;
  }
  /* Spatial: the reference scales the tile to the aspect ratio. */
  int64_t sc = v->dec.scomp, tc = v->dec.tcomp;
  int64_t size = o->tile_size / sc, overlap = o->tile_overlap / sc;
  int64_t lower = overlap + 1 > 2 ? overlap + 1 : 2;
  int64_t longest = H > W ? H : W;
  int64_t th = (int64_t)nearbyint((double)size * (double)H / (double)longest);
  int64_t tw = (int64_t)nearbyint((double)size * (double)W / (double)longest);
  split_sym(ah, H, th > lower ? th : lower, overlap);
  split_sym(aw, W, tw > lower ? tw : lower, overlap);
  split_time(at, F, o->tile_frames / tc, o->tile_frames_overlap / tc);
}

void lv2_tile_extent(const lv2 *v, int64_t F, int64_t H, int64_t W, int64_t *tf,
                     int64_t *th, int64_t *tw) {
  *tf = F, *th = H, *tw = W; /* without memory for the plan: untiled */
  axis *ax = malloc(3 * sizeof *ax);
  if (!ax) return;
  plan_axes(v, F, H, W, &ax[0], &ax[1], &ax[2]);
  int64_t *out[3] = {tf, th, tw};
  for (int k = 0; k < 3; k++) {
    *out[k] = 0;
    for (int i = 0; i < ax[k].n; i++)
      if (ax[k].e[i] - ax[k].s[i] > *out[k]) *out[k] = ax[k].e[i] - ax[k].s[i];
  }
  free(ax);
}

/* torch.linspace(a, b, steps)[i] in float32: the first half counts up from
 * a, the second down from b (ATen's symmetric formula). */
static float linspace_at(float a, float b, int64_t steps, int64_t i) {
  float step = (b - a) / (float)(steps - 1);
  int64_t half = steps / 2;
  return i < half ? a + step * (float)i : b - step * (float)(steps - i - 1);
}

/* compute_trapezoidal_mask_1d into m[len]. */
static void trapezoid(float *m, int64_t len, int64_t rl, int64_t rr,
                      int from0) {
  rl = rl < 0 ? 0 : rl > len ? len : rl;
  rr = rr < 0 ? 0 : rr > len ? len : rr;
  for (int64_t i = 0; i < len; i++)
    m[i] = 1.0f;
  if (rl > 0) {
    int64_t steps = from0 ? rl + 1 : rl + 2, first = from0 ? 0 : 1;
    for (int64_t i = 0; i < rl; i++)
      m[i] *= linspace_at(0.0f, 1.0f, steps, first + i);
  }
  if (rr > 0)
    for (int64_t i = 0; i < rr; i++)
      m[len - rr + i] *= linspace_at(1.0f, 0.0f, rr + 2, 1 + i);
  for (int64_t i = 0; i < len; i++)
    m[i] = m[i] < 0.0f ? 0.0f : m[i] > 1.0f ? 1.0f : m[i];
}

int lv2_decode_tiled(lv2 *v, const float *z, const float *noise, int64_t F,
                     int64_t H, int64_t W, float *out, warm_error *err) {
  const lv2_dec *d = &v->dec;
  axis *ax = malloc(3 * sizeof *ax);
  if (!ax)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  axis *at = &ax[0], *ah = &ax[1], *aw = &ax[2];
  plan_axes(v, F, H, W, at, ah, aw);
  int64_t C = d->latent_channels, Co = d->out_channels, sc = d->scomp,
          tc = d->tcomp;
  int64_t Fo = lv2_frames_of(d, F), Ho = H * sc, Wo = W * sc;
  size_t plane = (size_t)(Fo * Ho * Wo);
  int single = at->n == 1 && ah->n == 1 && aw->n == 1;
  float *wsum = single ? NULL : calloc(plane, sizeof *wsum);
  if (!single && !wsum) {
    free(ax);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", v->name);
  }
  int64_t total = (int64_t)at->n * ah->n * aw->n, done = 0;
  int rc = 0;
  if (single) {
    rc = lv2_decode_tile(v, z, noise, F, H, W, out, err);
    free(ax);
    return rc;
  }
  memset(out, 0, plane * Co * sizeof *out);
  for (int it = 0; it < at->n && !rc; it++)
    for (int ih = 0; ih < ah->n && !rc; ih++)
      for (int iw = 0; iw < aw->n && !rc; iw++) {
        int64_t f0 = at->s[it], f1 = at->e[it], y0 = ah->s[ih], y1 = ah->e[ih],
                x0 = aw->s[iw], x1 = aw->e[iw];
        int64_t tf = f1 - f0, th = y1 - y0, tw = x1 - x0;
        /* Output placement and masks (map_temporal_interval_to_frame,
         * map_spatial_interval_to_pixel). */
        int64_t os = f0 * tc, oe = 1 + (f1 - 1) * tc;
        int64_t lt = at->l[it] ? 1 + (at->l[it] - 1) * tc : 0;
        int64_t ofl = oe - os, ohl = th * sc, owl = tw * sc;
        size_t tn = (size_t)(C * tf * th * tw);
        size_t on = (size_t)(Co * lv2_frames_of(d, tf) * ohl * owl);
        float *zt = malloc(tn * sizeof *zt);
        float *nt = noise ? malloc(tn * sizeof *nt) : NULL;
        float *px = malloc(on * sizeof *px);
        float *mt = malloc((size_t)(ofl + ohl + owl) * sizeof *mt);
        if (!zt || !px || !mt || (noise && !nt)) {
          free(zt), free(nt), free(px), free(mt);
          rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                              v->name);
          break;
        }
        float *mh = mt + ofl, *mw = mh + ohl;
        trapezoid(mt, ofl, lt, at->r[it] * tc, 1);
        trapezoid(mh, ohl, ah->l[ih] * sc, ah->r[ih] * sc, 0);
        trapezoid(mw, owl, aw->l[iw] * sc, aw->r[iw] * sc, 0);
        for (int64_t c = 0; c < C; c++)
          for (int64_t f = 0; f < tf; f++)
            for (int64_t y = 0; y < th; y++) {
              size_t src = (size_t)(((c * F + f0 + f) * H + y0 + y) * W + x0);
              size_t dst = (size_t)(((c * tf + f) * th + y) * tw);
              memcpy(zt + dst, z + src, (size_t)tw * sizeof *zt);
              if (nt) memcpy(nt + dst, noise + src, (size_t)tw * sizeof *nt);
            }
        rc = lv2_decode_tile(v, zt, nt, tf, th, tw, px, err);
        int64_t dfl = lv2_frames_of(d, tf);
        int64_t nf = ofl < dfl ? ofl : dfl;
        if (os + nf > Fo) nf = Fo - os;
        for (int64_t f = 0; f < nf && !rc; f++)
          for (int64_t y = 0; y < ohl; y++) {
            float mty = mt[f] * mh[y];
            size_t o = (size_t)(((os + f) * Ho + y0 * sc + y) * Wo + x0 * sc);
            for (int64_t x = 0; x < owl; x++) {
              float m = mty * mw[x];
              wsum[o + x] += m;
              for (int64_t c = 0; c < Co; c++)
                out[c * plane + o + x] +=
                    px[((c * dfl + f) * ohl + y) * owl + x] * m;
            }
          }
        free(zt), free(nt), free(px), free(mt);
        done++;
        if (!rc && v->svc->progress)
          v->svc->progress(v->svc->ctx, (float)done / (float)total);
      }
  if (!rc)
    for (size_t i = 0; i < plane; i++) {
      float w = wsum[i] < 1e-8f ? 1e-8f : wsum[i];
      for (int64_t c = 0; c < Co; c++)
        out[c * plane + i] = out[c * plane + i] / w;
    }
  free(wsum);
  free(ax);
  return rc;
}
