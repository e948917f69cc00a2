/* --arch ltx2: one combined LTX-2 checkpoint (transformer, text projection
 * and connectors, video VAE, audio VAE, vocoder) with the config JSON and
 * model_version in __metadata__, as the reference files ship. */
#include <stdio.h>
#include <stdlib.h>

#include "mk_ltx2.h"

static int make(const mk_ctx *c, warm_error *err) {
  int v23, preset;
  int rc = lx_variant(c, &v23, err);
  rc = rc ? rc : lx_preset(c, &preset, err);
  if (rc) return rc;
  json_t *cfg = NULL;
  if ((rc = lx_config(c, v23, preset, &cfg, err))) return rc;
  mk_plan p = {0};
  const json_t *tr = json_object_get(cfg, "transformer");
  rc = lx_plan_transformer(&p, tr, err);
  rc = rc ? rc : lx_plan_text(&p, tr, preset, err);
  rc = rc ? rc : lx_plan_video_vae(&p, json_object_get(cfg, "vae"), err);
  rc = rc ? rc : lx_plan_audio_vae(&p, json_object_get(cfg, "audio_vae"), err);
  rc = rc ? rc : lx_plan_vocoder(&p, json_object_get(cfg, "vocoder"), err);
  char *text = rc ? NULL : json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
  if (!rc && !text) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!rc) {
    warm_kv meta[2] = {{"config", text},
                       {"model_version", v23 ? "2.3.0" : "2.0.0"}};
    rc = mk_write_file(c, &p, c->out_dir, meta, 2, err);
  }
  free(text);
  mk_plan_free(&p);
  json_decref(cfg);
  return rc;
}

const mk_arch mk_arch_ltx2 = {"ltx2", "tiny|small|full (--variant 2.0|2.3)",
                              make, 1};
