/*
 * host/pipeline_encode.c — the encode step every pipeline and `warmd
 * --encode` use: the text encoder's outputs through the embedding cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "pipeline_int.h"
#include "warm/safetensors.h"

static void fallback_fingerprint(wh_component *c, char out[65]) {
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  uint64_t h = 1469598103934665603ull;
  const char *parts[3] = {d->name, d->version,
                          c->ccfg.weights ? c->ccfg.weights : ""};
  for (int p = 0; p < 3; p++) {
    for (const char *s = parts[p]; *s; s++)
      h = (h ^ (uint8_t)*s) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  h = (h ^ (uint64_t)c->ccfg.dtype) * 1099511628211ull;
  snprintf(out, 65, "%016llx", (unsigned long long)h);
}

/* The encoder's outputs in one of two sets: "embeddings" [T, C] (the last
 * slice of [L, T, C]) + "mask" [T], or LTX-2's "video_context" [T, Cv] +
 * "audio_context" [T, Ca] + "mask" [T]. *n_out is 2 or 3. */
int wh_pc_encode(wh_runtime *rt, wh_embcache *cache, const char *component,
                      const char *prompt, warm_tensor out[3], uint32_t *n_out,
                      const char **placement, char fingerprint[65],
                      int *cache_hit, wh_job_ctl *ctl, warm_error *err) {
  wh_component *c = wh_pc_find(rt, component);
  *n_out = 0;
  if (!c)
    return warm_error_set(err, WARM_EINVAL, "no component named '%s'",
                          component);
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  if (d->kind != WARM_KIND_TEXT_ENCODER)
    return warm_error_set(err, WARM_EINVAL,
                          "component %s is a %s, not a text encoder",
                          component, warm_kind_name(d->kind));
  warm_model_info mi;
  uint32_t max_tokens = wh_pc_info(c, &mi, NULL) == 0 ? mi.max_tokens : 0;
  int (*fp)(warm_instance *, char[65], warm_error *) =
      WARM_DESC_OPT(d, fingerprint);
  if (!fp || fp(c->inst, fingerprint, NULL) != 0)
    fallback_fingerprint(c, fingerprint);

  memset(out, 0, 3 * sizeof *out);
  *cache_hit = 0;
  if (cache) {
    warm_tensor got[WARM_MAX_IO];
    uint32_t n = 0;
    if (wh_embcache_get(cache, fingerprint, prompt, max_tokens, got, &n) == 1) {
      if (n == 2 || n == 3) {
        for (uint32_t i = 0; i < n; i++) out[i] = got[i];
        *n_out = n;
        *cache_hit = 1;
        *placement = "cache";
        return 0;
      }
      for (uint32_t i = 0; i < n; i++) warm_tensor_free(&got[i]);
    }
  }

  warm_run_args a = {0};
  a.prompt = prompt;
  a.max_tokens = max_tokens;
  warm_job_shape shape = {max_tokens, 0, 0, 0, 1};
  warm_placement used = 0;
  int rc = wh_pc_call(rt, c, &shape, &a, ctl, &used, err);
  if (rc) {
    wh_pc_free_outputs(&a);
    return rc;
  }
  warm_tensor *mask = wh_pc_output(&a, "mask");
  warm_tensor *vc = wh_pc_output(&a, "video_context"),
              *ac = wh_pc_output(&a, "audio_context");
  if (vc && ac && mask && vc->dtype == WARM_F32 && ac->dtype == WARM_F32 &&
      mask->dtype == WARM_I32 && vc->ndim == 2 && ac->ndim == 2 &&
      mask->ndim == 1 && vc->shape[0] == mask->shape[0] &&
      ac->shape[0] == mask->shape[0]) {
    out[0] = *vc;
    out[1] = *ac;
    out[2] = *mask;
    out[0].name = "video_context";
    out[1].name = "audio_context";
    out[2].name = "mask";
    vc->data = ac->data = mask->data = NULL;
    *n_out = 3;
  } else {
    warm_tensor *emb = wh_pc_output(&a, "embeddings");
    if (!emb || !mask || emb->dtype != WARM_F32 || mask->dtype != WARM_I32 ||
        (emb->ndim != 2 && emb->ndim != 3) || mask->ndim != 1 ||
        emb->shape[emb->ndim - 2] != mask->shape[0]) {
      wh_pc_free_outputs(&a);
      return warm_error_set(err, WARM_EFORMAT,
                            "component %s returned neither f32 "
                            "\"embeddings\" [T, C] (or [L, T, C]) nor f32 "
                            "\"video_context\" [T, Cv] and \"audio_context\" "
                            "[T, Ca], with an i32 \"mask\" [T]",
                            component);
    }
    /* output = all: the pipeline conditions on the last hidden state. */
    if (emb->ndim == 3) {
      int64_t L = emb->shape[0], T = emb->shape[1], C = emb->shape[2];
      warm_tensor last;
      int64_t s2[2] = {T, C};
      if (warm_tensor_alloc(&last, "embeddings", WARM_F32, 2, s2)) {
        wh_pc_free_outputs(&a);
        return warm_error_set(err, WARM_ENOMEM, "out of memory");
      }
      memcpy(last.data, (float *)emb->data + (L - 1) * T * C,
             sizeof(float) * T * C);
      warm_tensor_free(emb);
      *emb = last;
    }
    out[0] = *emb;
    out[1] = *mask;
    out[0].name = "embeddings";
    out[1].name = "mask";
    emb->data = mask->data = NULL;
    *n_out = 2;
  }
  wh_pc_free_outputs(&a);
  *placement = warm_placement_name(used);
  if (cache) wh_embcache_put(cache, fingerprint, prompt, max_tokens, out, *n_out);
  return 0;
}

int wh_pipeline_encode(wh_runtime *rt, wh_embcache *cache,
                       const char *component, const char *prompt,
                       warm_tensor out[2], const char **placement,
                       char fingerprint[65], int *cache_hit, wh_job_ctl *ctl,
                       warm_error *err) {
  warm_tensor t[3];
  uint32_t n = 0;
  int rc = wh_pc_encode(rt, cache, component, prompt, t, &n, placement,
                      fingerprint, cache_hit, ctl, err);
  if (rc) return rc;
  if (n != 2) {
    for (uint32_t i = 0; i < n; i++) warm_tensor_free(&t[i]);
    return warm_error_set(err, WARM_EINVAL,
                          "component %s gives LTX-2 conditioning "
                          "(video_context, audio_context), not the "
                          "\"embeddings\" this pipeline's transformer takes",
                          component);
  }
  out[0] = t[0];
  out[1] = t[1];
  return 0;
}

int wh_pipeline_encode_to_file(wh_runtime *rt, const char *component,
                               const char *prompt, const char *path,
                               warm_error *err) {
  warm_tensor t[3];
  uint32_t n = 0;
  const char *placement = NULL;
  char fp[65], tokens[32];
  int hit;
  int rc = wh_pc_encode(rt, NULL, component, prompt, t, &n, &placement, fp, &hit,
                      NULL, err);
  if (rc) return rc;
  const warm_tensor *mask = &t[n - 1];
  int64_t cnt = 0;
  for (int64_t i = 0; i < mask->shape[0]; i++)
    cnt += ((int32_t *)mask->data)[i] != 0;
  snprintf(tokens, sizeof tokens, "%lld", (long long)cnt);
  warm_kv meta[5] = {{"prompt", prompt},
                     {"tokens", tokens},
                     {"fingerprint", fp},
                     {"placement", placement},
                     {"component", component}};
  rc = warm_st_write_file(path, t, n, meta, 5, err);
  for (uint32_t i = 0; i < n; i++) warm_tensor_free(&t[i]);
  return rc;
}
