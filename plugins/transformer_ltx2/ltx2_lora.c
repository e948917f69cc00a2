/* LoRA files through the SDK reader (warm/lora.h: ComfyUI layout, ltx-core's
 * LTXV_LORA_COMFY_RENAMING_MAP). `lora = FILE [S]` is fused into the stored
 * weights at place time as ltx-core's apply_loras does (W + S * B.A, no
 * alpha); `lora.NAME = FILE [S]` stays apart on the device and a run that
 * names it adds S * (x . A^T) . B^T after each block linear it covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

/* "model.diffusion_model.P.weight" -> module key "P"; -1 otherwise. */
static int module_key(const char *key, char *out, size_t n) {
  size_t lp = strlen(LX_PREFIX), lk = strlen(key), ls = strlen(".weight");
  if (lk <= lp + ls || strncmp(key, LX_PREFIX, lp) ||
      strcmp(key + lk - ls, ".weight"))
    return -1;
  snprintf(out, n, "%.*s", (int)(lk - lp - ls), key + lp);
  return 0;
}

/* 1 when module key `k` names a linear the transformer reads (a block one
 * when `blocks_only`). */
static int is_linear(const ltx2 *m, const char *k, int blocks_only) {
  const char *tb = "transformer_blocks.";
  if (!strncmp(k, tb, strlen(tb))) {
    char *end = NULL;
    long long blk = strtoll(k + strlen(tb), &end, 10);
    if (!end || *end != '.' || blk < 0 || blk >= m->cfg.layers) return 0;
    for (int t = 0; t < m->w.b.n; t++) {
      const wpc_tensor *w = &m->w.b.t[t];
      size_t ln = strlen(w->name) - strlen(".weight");
      if (w->matrix && strlen(end + 1) == ln && !strncmp(end + 1, w->name, ln))
        return 1;
    }
    return 0;
  }
  if (blocks_only) return 0;
  for (int t = 0; t < m->w.g.n; t++) {
    const wpc_tensor *w = &m->w.g.t[t];
    size_t ln = strlen(w->name) - strlen(".weight");
    if (w->matrix && strlen(k) == ln && !strncmp(k, w->name, ln)) return 1;
  }
  return 0;
}

/* Every pair must match the base (shape) and name a linear this plugin
 * reads: a key that matches nothing would silently do nothing. Connector
 * keys (same prefix, read by the text encoder) are left to it. Run-time
 * adapters cover transformer-block linears only, with one rank. */
static int check_pairs(const ltx2 *m, const lx_lora *l, warm_error *err) {
  int rc = warm_lora_check_base(l->lf, m->st, LX_PREFIX, err);
  for (size_t i = 0; i < warm_lora_count(l->lf) && !rc; i++) {
    const warm_lora_pair *p = warm_lora_at(l->lf, i);
    if (strstr(p->key, "_embeddings_connector.")) continue;
    if (!is_linear(m, p->key, l->name != NULL))
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: key %s matches no %s of the model", l->path,
                          p->key,
                          l->name ? "block linear (run-time adapters cover "
                                    "transformer blocks only)"
                                  : "linear weight");
    else if (l->name && p->rank != warm_lora_at(l->lf, 0)->rank)
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: %s has rank %lld; a run-time adapter needs "
                          "one rank throughout (first %lld)",
                          l->path, p->key, (long long)p->rank,
                          (long long)warm_lora_at(l->lf, 0)->rank);
  }
  return rc;
}

int lx_lora_open(ltx2 *m, warm_error *err) {
  for (int i = 0; i < m->opts.n_lora; i++) {
    lx_lora *l = &m->opts.lora[i];
    int rc = warm_lora_open(l->path, &l->lf, err);
    if (!rc) rc = check_pairs(m, l, err);
    if (rc) return rc;
  }
  return 0;
}

/* wpc fuse hook: W += S * B.A for every fused file covering `key`, in f32
 * before the weight is converted to the stored dtype. */
int lx_fuse(void *user, const char *key, float *w, int64_t rows, int64_t cols,
            warm_error *err) {
  ltx2 *m = user;
  char mk[WPC_NAME_MAX + 32];
  if (module_key(key, mk, sizeof mk)) return 0;
  for (int i = 0; i < m->opts.n_lora; i++) {
    const lx_lora *l = &m->opts.lora[i];
    if (l->name || l->strength == 0.0f) continue;
    const warm_lora_pair *p = warm_lora_find(l->lf, mk);
    if (!p) continue;
    int rc =
        warm_lora_fuse(l->lf, p, l->strength, w, WARM_F32, rows, cols, err);
    if (rc) return rc;
  }
  return 0;
}

/* Device layout of one adapter: per covered block matrix A [r, in] and
 * S * B [out, r] in the adapter dtype, each at a 256-byte aligned offset. */
static int adapter_layout(const ltx2 *m, const lx_lora *l, lx_adapter *ad,
                          warm_error *err) {
  size_t n = (size_t)(m->cfg.layers * m->w.b.n);
  ad->off_a = malloc(n * sizeof *ad->off_a);
  ad->off_b = malloc(n * sizeof *ad->off_b);
  if (!ad->off_a || !ad->off_b)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", m->name);
  size_t off = 0;
  char mk[WPC_NAME_MAX + 32];
  for (int64_t b = 0; b < m->cfg.layers; b++)
    for (int t = 0; t < m->w.b.n; t++) {
      size_t k = (size_t)(b * m->w.b.n + t);
      ad->off_a[k] = ad->off_b[k] = SIZE_MAX;
      const wpc_tensor *wt = &m->w.b.t[t];
      if (!wt->matrix) continue;
      snprintf(mk, sizeof mk, "transformer_blocks.%lld.%.*s", (long long)b,
               (int)(strlen(wt->name) - strlen(".weight")), wt->name);
      const warm_lora_pair *p = warm_lora_find(l->lf, mk);
      if (!p) continue;
      ad->rank = p->rank;
      ad->off_a[k] = off;
      off += (warm_weight_bytes(ad->dtype, (uint64_t)(p->rank * wt->shape[1])) +
              255) /
             256 * 256;
      ad->off_b[k] = off;
      off += (warm_weight_bytes(ad->dtype, (uint64_t)(wt->shape[0] * p->rank)) +
              255) /
             256 * 256;
    }
  ad->bytes = off;
  return 0;
}

uint64_t lx_adapters_bytes(const ltx2 *m) {
  uint64_t n = 0;
  for (int i = 0; i < m->n_ad; i++)
    n += m->ad[i].bytes;
  return n;
}

/* A LoRA view times `s` (1 for A), rounded once to the adapter dtype in
 * `host`, then up to `dev`. `f32` is scratch of the view's size. */
static int upload(ltx2 *m, const lx_adapter *ad, const warm_tensor *v, float s,
                  void *dev, float *f32, void *host, warm_error *err) {
  int rc = warm_weight_convert(v, WARM_F32, f32, NULL, err);
  if (rc) return rc;
  int64_t n = warm_tensor_numel(v);
  for (int64_t i = 0; i < n && s != 1.0f; i++)
    f32[i] = f32[i] * s;
  warm_tensor t = *v;
  t.dtype = WARM_F32;
  t.data = f32;
  t.scale = 1.0f;
  if ((rc = warm_weight_convert(&t, ad->dtype, host, NULL, err))) return rc;
  int wrc =
      wk_copy_h2d(m->wk, dev, host, warm_weight_bytes(ad->dtype, (uint64_t)n));
  if (!wrc) wrc = wk_sync(m->wk); /* host must outlive the copy */
  if (wrc)
    return warm_error_set(err, WARM_EDEVICE, "%s: adapter upload: %s", m->name,
                          wk_last_error(m->wk));
  return 0;
}

/* Uploads the named adapters (persistent, booked like weights) at the
 * first place. */
int lx_adapters_place(ltx2 *m, warm_error *err) {
  char mk[WPC_NAME_MAX + 32];
  for (int i = 0; i < m->n_ad; i++) {
    lx_adapter *ad = &m->ad[i];
    if (!ad->bytes) continue; /* covers nothing: no device memory */
    int rc = m->svc->dev_alloc(m->svc->ctx, WARM_MEM_PERSISTENT, ad->bytes,
                               &ad->dev, err);
    for (int64_t b = 0; b < m->cfg.layers && !rc; b++)
      for (int t = 0; t < m->w.b.n && !rc; t++) {
        size_t k = (size_t)(b * m->w.b.n + t);
        if (ad->off_a[k] == SIZE_MAX) continue;
        const wpc_tensor *wt = &m->w.b.t[t];
        snprintf(mk, sizeof mk, "transformer_blocks.%lld.%.*s", (long long)b,
                 (int)(strlen(wt->name) - strlen(".weight")), wt->name);
        const warm_lora_pair *p = warm_lora_find(ad->lf, mk);
        size_t na = (size_t)(p->rank * p->in), nb = (size_t)(p->out * p->rank);
        size_t mx = na > nb ? na : nb;
        float *f32 = malloc(mx * sizeof *f32);
        void *host = malloc(mx * sizeof(float));
        if (!f32 || !host) {
          free(f32);
          free(host);
          rc = warm_error_set(err, WARM_ENOMEM, "%s: out of host memory",
                              m->name);
          break;
        }
        rc = upload(m, ad, &p->a, 1.0f, (char *)ad->dev + ad->off_a[k], f32,
                    host, err);
        if (!rc)
          rc = upload(m, ad, &p->b, ad->strength,
                      (char *)ad->dev + ad->off_b[k], f32, host, err);
        free(f32);
        free(host);
      }
    if (rc) {
      for (int j = 0; j <= i; j++) {
        m->svc->dev_free(m->svc->ctx, m->ad[j].dev);
        m->ad[j].dev = NULL;
      }
      return rc;
    }
  }
  return 0;
}

/* The adapter table from the lora.NAME keys (no device memory). */
int lx_adapters_init(ltx2 *m, warm_error *err) {
  for (int j = 0; j < m->opts.n_lora; j++) {
    const lx_lora *l = &m->opts.lora[j];
    if (!l->name) continue;
    lx_adapter *ad = &m->ad[m->n_ad++];
    memset(ad, 0, sizeof *ad);
    ad->name = l->name;
    ad->strength = l->strength;
    ad->lf = l->lf;
    ad->dtype = m->dtype == WARM_FP8_E4M3 ? WARM_BF16 : m->dtype;
    int rc = adapter_layout(m, l, ad, err);
    if (rc) return rc;
  }
  return 0;
}

void lx_adapters_free(ltx2 *m) {
  for (int i = 0; i < m->n_ad; i++) {
    if (m->ad[i].dev) {
      wk_sync(m->wk);
      m->svc->dev_free(m->svc->ctx, m->ad[i].dev);
    }
    free(m->ad[i].off_a);
    free(m->ad[i].off_b);
  }
  m->n_ad = 0;
}
