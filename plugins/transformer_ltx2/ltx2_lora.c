/* LoRA files (ComfyUI layout: diffusion_model.<module>.lora_A.weight [r, in]
 * and .lora_B.weight [out, r], ltx-core's LTXV_LORA_COMFY_RENAMING_MAP).
 * `lora = FILE [S]` is fused into the stored weights at place time as
 * ltx-core's apply_loras does (W + (S * B) @ A, no alpha); `lora.NAME = FILE
 * [S]` stays apart on the device and a run that names it adds
 * S * (x . A^T) . B^T after each block linear it covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2.h"

#define LORA_PFX "diffusion_model."

/* The model key ("model.diffusion_model.P.weight") -> LoRA keys for P. */
static int lora_keys(const char *key, char *ka, char *kb, size_t n) {
  size_t lp = strlen(LX_PREFIX), lk = strlen(key), ls = strlen(".weight");
  if (lk <= lp + ls || strncmp(key, LX_PREFIX, lp) ||
      strcmp(key + lk - ls, ".weight"))
    return -1;
  int len = (int)(lk - lp - ls);
  snprintf(ka, n, LORA_PFX "%.*s.lora_A.weight", len, key + lp);
  snprintf(kb, n, LORA_PFX "%.*s.lora_B.weight", len, key + lp);
  return 0;
}

/* A and B of `key` in LoRA file `l` as f32 (malloc'd), shapes checked
 * against the base matrix [rows, cols]; 1 when the file does not cover
 * the key. */
static int lora_get(const lx_lora *l, const char *key, int64_t rows,
                    int64_t cols, float **A, float **Bm, int64_t *rank,
                    warm_error *err) {
  char ka[256], kb[256];
  if (lora_keys(key, ka, kb, sizeof ka)) return 1;
  const warm_st_entry *ea = warm_st_find(l->st, ka), *eb = warm_st_find(l->st, kb);
  if (!ea && !eb) return 1;
  if (!ea || !eb)
    return warm_error_set(err, WARM_EFORMAT, "%s: %s has no %s", l->path,
                          ea ? ka : kb, ea ? "lora_B.weight" : "lora_A.weight");
  warm_tensor ta, tb;
  int rc;
  if ((rc = warm_st_get(l->st, ka, &ta, err)) ||
      (rc = warm_st_get(l->st, kb, &tb, err)))
    return rc;
  if (ta.ndim != 2 || tb.ndim != 2 || ta.shape[1] != cols ||
      tb.shape[0] != rows || ta.shape[0] != tb.shape[1] || ta.shape[0] < 1)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %s [%lld, %lld] / lora_B [%lld, %lld] do not "
                          "match the base weight [%lld, %lld]",
                          l->path, ka, (long long)ta.shape[0],
                          (long long)(ta.ndim > 1 ? ta.shape[1] : 0),
                          (long long)tb.shape[0],
                          (long long)(tb.ndim > 1 ? tb.shape[1] : 0),
                          (long long)rows, (long long)cols);
  int64_t r = ta.shape[0];
  *A = malloc((size_t)(r * cols) * sizeof(float));
  *Bm = malloc((size_t)(rows * r) * sizeof(float));
  if (!*A || !*Bm) {
    free(*A);
    free(*Bm);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of host memory", l->path);
  }
  if ((rc = warm_weight_convert(&ta, WARM_F32, *A, NULL, err)) ||
      (rc = warm_weight_convert(&tb, WARM_F32, *Bm, NULL, err))) {
    free(*A);
    free(*Bm);
    return rc;
  }
  *rank = r;
  return 0;
}

/* Every LoRA key must name a matrix of the model: a key that matches
 * nothing would silently do nothing. Run-time adapters cover block
 * matrices only. */
static int check_keys(const ltx2 *m, const lx_lora *l, warm_error *err) {
  for (size_t i = 0; i < warm_st_count(l->st); i++) {
    const char *k = warm_st_at(l->st, i)->name;
    size_t lk = strlen(k), la = strlen(".lora_A.weight");
    if (lk <= la || (strcmp(k + lk - la, ".lora_A.weight") &&
                     strcmp(k + lk - la, ".lora_B.weight")))
      continue;
    if (strncmp(k, LORA_PFX, strlen(LORA_PFX)))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: key %s does not start with " LORA_PFX,
                            l->path, k);
    char base[256];
    snprintf(base, sizeof base, LX_PREFIX "%.*s.weight",
             (int)(lk - la - strlen(LORA_PFX)), k + strlen(LORA_PFX));
    int found = 0;
    long long blk = -1;
    const char *tb = base + strlen(LX_PREFIX "transformer_blocks.");
    if (!strncmp(base, LX_PREFIX "transformer_blocks.",
                 strlen(LX_PREFIX "transformer_blocks."))) {
      char *end = NULL;
      blk = strtoll(tb, &end, 10);
      if (end && *end == '.' && blk >= 0 && blk < m->cfg.layers)
        for (int t = 0; t < m->w.b.n && !found; t++)
          found = m->w.b.t[t].matrix && !strcmp(end + 1, m->w.b.t[t].name);
    } else if (!l->name) {
      for (int t = 0; t < m->w.g.n && !found; t++)
        found = m->w.g.t[t].matrix &&
                !strcmp(base + strlen(LX_PREFIX), m->w.g.t[t].name);
    }
    if (!found)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: key %s matches no %s of the model",
                            l->path, k,
                            l->name ? "block linear (run-time adapters cover "
                                      "transformer blocks only)"
                                    : "linear weight");
  }
  return 0;
}

int lx_lora_open(ltx2 *m, warm_error *err) {
  for (int i = 0; i < m->opts.n_lora; i++) {
    lx_lora *l = &m->opts.lora[i];
    int rc = warm_st_open(l->path, &l->st, err);
    if (!rc) rc = check_keys(m, l, err);
    if (rc) return rc;
  }
  return 0;
}

/* wpc fuse hook: W += sum over fused files of (s * B) @ A, in f32 on the
 * host (a cpu wk context made on first use: BLAS, the plugin's threads).
 * Runs on the thread that places, like every other use of the instance. */
int lx_fuse(void *user, const char *key, float *w, int64_t rows, int64_t cols,
            warm_error *err) {
  ltx2 *m = user;
  for (int i = 0; i < m->opts.n_lora; i++) {
    const lx_lora *l = &m->opts.lora[i];
    if (l->name || l->strength == 0.0f) continue;
    float *A = NULL, *Bm = NULL;
    int64_t r = 0;
    int rc = lora_get(l, key, rows, cols, &A, &Bm, &r, err);
    if (rc == 1) continue;
    if (rc) return rc;
    for (int64_t k = 0; k < rows * r; k++) Bm[k] = Bm[k] * l->strength;
    if (!m->fuse_wk &&
        wk_ctx_create(WK_BACKEND_CPU, 0, m->opts.threads, &m->fuse_wk))
      rc = warm_error_set(err, WARM_ENOMEM,
                          "%s: cannot create a cpu context to fuse %s",
                          m->name, l->path);
    if (!rc && wk_gemm(m->fuse_wk, 0, 0, rows, cols, r, 1.0f, Bm, r, 0, A,
                       cols, 0, 1.0f, w, cols, 0, 1))
      rc = warm_error_set(err, WARM_EINTERNAL, "%s: fusing %s: %s", m->name,
                          key, wk_last_error(m->fuse_wk));
    free(A);
    free(Bm);
    if (rc) return rc;
  }
  return 0;
}

/* Device bytes of one adapter: per covered block matrix, A and B in f32,
 * each at a 256-byte aligned offset. */
static int adapter_layout(const ltx2 *m, const lx_lora *l, lx_adapter *ad,
                          warm_error *err) {
  size_t n = (size_t)(m->cfg.layers * m->w.b.n);
  ad->off_a = malloc(n * sizeof *ad->off_a);
  ad->off_b = malloc(n * sizeof *ad->off_b);
  if (!ad->off_a || !ad->off_b)
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", m->name);
  size_t off = 0;
  char key[256];
  for (int64_t b = 0; b < m->cfg.layers; b++)
    for (int t = 0; t < m->w.b.n; t++) {
      size_t k = (size_t)(b * m->w.b.n + t);
      ad->off_a[k] = ad->off_b[k] = SIZE_MAX;
      const wpc_tensor *wt = &m->w.b.t[t];
      if (!wt->matrix) continue;
      snprintf(key, sizeof key, LX_PREFIX "transformer_blocks.%lld.%s",
               (long long)b, wt->name);
      char ka[256], kb[256];
      if (lora_keys(key, ka, kb, sizeof ka)) continue;
      const warm_st_entry *ea = warm_st_find(l->st, ka);
      if (!ea) continue;
      int64_t r = ea->shape[0];
      if (ad->rank && r != ad->rank)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: %s has rank %lld; a run-time adapter "
                              "needs one rank throughout (first %lld)",
                              l->path, ka, (long long)r, (long long)ad->rank);
      ad->rank = r;
      ad->off_a[k] = off;
      off += ((size_t)(r * wt->shape[1]) * 4 + 255) / 256 * 256;
      ad->off_b[k] = off;
      off += ((size_t)(wt->shape[0] * r) * 4 + 255) / 256 * 256;
    }
  ad->bytes = off;
  return 0;
}

uint64_t lx_adapters_bytes(const ltx2 *m) {
  uint64_t n = 0;
  for (int i = 0; i < m->n_ad; i++) n += m->ad[i].bytes;
  return n;
}

/* Uploads the named adapters (persistent, booked like weights). Called at
 * create for the layout (bytes) and at the first place for the upload. */
int lx_adapters_place(ltx2 *m, warm_error *err) {
  char key[256];
  for (int i = 0; i < m->n_ad; i++) {
    lx_adapter *ad = &m->ad[i];
    const lx_lora *l = NULL;
    for (int j = 0; j < m->opts.n_lora; j++)
      if (m->opts.lora[j].name && !strcmp(m->opts.lora[j].name, ad->name))
        l = &m->opts.lora[j];
    if (!ad->bytes) continue; /* covers nothing: no device memory */
    int rc = m->svc->dev_alloc(m->svc->ctx, WARM_MEM_PERSISTENT, ad->bytes,
                               &ad->dev, err);
    for (int64_t b = 0; b < m->cfg.layers && !rc; b++)
      for (int t = 0; t < m->w.b.n && !rc; t++) {
        size_t k = (size_t)(b * m->w.b.n + t);
        if (ad->off_a[k] == SIZE_MAX) continue;
        const wpc_tensor *wt = &m->w.b.t[t];
        snprintf(key, sizeof key, LX_PREFIX "transformer_blocks.%lld.%s",
                 (long long)b, wt->name);
        float *A = NULL, *Bm = NULL;
        int64_t r = 0;
        rc = lora_get(l, key, wt->shape[0], wt->shape[1], &A, &Bm, &r, err);
        if (rc) break;
        int wrc = wk_copy_h2d(m->wk, (char *)ad->dev + ad->off_a[k], A,
                              (size_t)(r * wt->shape[1]) * 4);
        if (!wrc)
          wrc = wk_copy_h2d(m->wk, (char *)ad->dev + ad->off_b[k], Bm,
                            (size_t)(wt->shape[0] * r) * 4);
        if (!wrc) wrc = wk_sync(m->wk); /* A and B must outlive the copy */
        free(A);
        free(Bm);
        if (wrc)
          rc = warm_error_set(err, WARM_EDEVICE, "%s: adapter upload: %s",
                              m->name, wk_last_error(m->wk));
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
