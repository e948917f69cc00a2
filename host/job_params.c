/*
 * host/job_params.c — job parameter rules, owned copies and the JSON view
 * (see job_params.h).
 */
#include "job_params.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The ranges of the guidance fields. cfg starts at 1 (1 = off, as the
 * `guidance` field); the others follow the reference's meaning of each
 * scale: stg 0 = off, rescale a blend factor, modality 1 = off. */
static const struct {
  const char *name;
  double lo, hi;
  unsigned bit;
} guide_keys[WH_GK_N] = {
    [WH_GK_CFG] = {"cfg", 1, 30, WH_GUIDE_CFG},
    [WH_GK_STG] = {"stg", 0, 10, WH_GUIDE_STG},
    [WH_GK_RESCALE] = {"rescale", 0, 1, WH_GUIDE_RESCALE},
    [WH_GK_MODALITY] = {"modality", 0, 30, WH_GUIDE_MODALITY},
    [WH_GK_SKIP_STEP] = {"skip_step", 0, 100, WH_GUIDE_SKIP_STEP},
    [WH_GK_STG_BLOCKS] = {"stg_blocks", 0, WH_GUIDE_MAX_BLOCK,
                          WH_GUIDE_STG_BLOCKS},
};

const char *wh_guide_key_name(wh_guide_key k) {
  return (unsigned)k < WH_GK_N ? guide_keys[k].name : "?";
}

int wh_guide_key_find(const char *name) {
  for (int k = 0; k < WH_GK_N; k++)
    if (!strcmp(guide_keys[k].name, name)) return k;
  return -1;
}

int wh_guide_set_number(wh_job_guide *g, wh_guide_key k, double v,
                        const char *what, warm_error *err) {
  if ((unsigned)k >= WH_GK_STG_BLOCKS)
    return warm_error_set(err, WARM_EINVAL, "%s: not a number field", what);
  double lo = guide_keys[k].lo, hi = guide_keys[k].hi;
  if (!(v >= lo && v <= hi))
    return warm_error_set(err, WARM_EINVAL, "%s = %g: must be %g..%g", what, v,
                          lo, hi);
  switch (k) {
  case WH_GK_CFG:
    g->g.cfg = v;
    break;
  case WH_GK_STG:
    g->g.stg = v;
    break;
  case WH_GK_RESCALE:
    g->g.rescale = v;
    break;
  case WH_GK_MODALITY:
    g->g.modality = v;
    break;
  default:
    if (v != floor(v))
      return warm_error_set(err, WARM_EINVAL,
                            "%s = %g: must be a whole number %g..%g", what, v,
                            lo, hi);
    g->g.skip_step = (int)v;
    break;
  }
  g->set |= guide_keys[k].bit;
  return 0;
}

int wh_guide_set_blocks(wh_job_guide *g, const long long *blocks, size_t n,
                        const char *what, warm_error *err) {
  if (n > WH_LTX2_MAX_STG_BLOCKS)
    return warm_error_set(err, WARM_EINVAL, "%s: at most %d blocks, got %zu",
                          what, WH_LTX2_MAX_STG_BLOCKS, n);
  for (size_t i = 0; i < n; i++)
    if (blocks[i] < 0 || blocks[i] > WH_GUIDE_MAX_BLOCK)
      return warm_error_set(err, WARM_EINVAL,
                            "%s: block %lld is not a block index 0..%d", what,
                            blocks[i], WH_GUIDE_MAX_BLOCK);
  for (size_t i = 0; i < n; i++)
    g->g.stg_blocks[i] = (uint32_t)blocks[i];
  g->g.n_stg_blocks = (uint32_t)n;
  g->set |= WH_GUIDE_STG_BLOCKS;
  return 0;
}

int wh_job_check_strength(double s, const char *what, warm_error *err) {
  /* 0 would leave the first frame fully noised, the same as no image; the
   * struct reads 0 as "the default", so it is refused rather than turned
   * into 1. */
  if (!(s > 0 && s <= 1))
    return warm_error_set(err, WARM_EINVAL,
                          "%s = %g: must be more than 0 and at most 1", what,
                          s);
  return 0;
}

static int dup_str(char **dst, const char *src) {
  *dst = NULL;
  if (!src) return 0;
  return (*dst = strdup(src)) ? 0 : -1;
}

int wh_job_params_copy(wh_job_params *dst, const wh_job_params *src,
                       warm_error *err) {
  wh_job_params p = *src;
  char *prompt, *neg, *noise;
  uint8_t *image = NULL;
  int bad = dup_str(&prompt, src->prompt ? src->prompt : "");
  bad |= dup_str(&neg, src->negative_prompt);
  bad |= dup_str(&noise, src->noise_file);
  if (!bad && src->image && src->image_len) {
    if ((image = malloc(src->image_len)))
      memcpy(image, src->image, src->image_len);
    else
      bad = 1;
  }
  if (bad) {
    free(prompt);
    free(neg);
    free(noise);
    free(image);
    return warm_error_set(err, WARM_ENOMEM, "out of memory copying the job");
  }
  p.prompt = prompt;
  p.negative_prompt = neg;
  p.noise_file = noise;
  p.image = image;
  *dst = p;
  return 0;
}

void wh_job_params_free(wh_job_params *p) {
  free((char *)p->prompt);
  free((char *)p->negative_prompt);
  free((char *)p->noise_file);
  free((uint8_t *)p->image);
  p->prompt = p->negative_prompt = p->noise_file = NULL;
  p->image = NULL;
}

void wh_job_params_drop_image(wh_job_params *p) {
  free((uint8_t *)p->image);
  p->image = NULL;
}

static json_t *guide_json(const wh_job_guide *g) {
  json_t *o = json_object();
  const double nums[] = {g->g.cfg, g->g.stg, g->g.rescale, g->g.modality};
  for (int k = WH_GK_CFG; o && k <= WH_GK_MODALITY; k++)
    if (g->set & guide_keys[k].bit)
      json_object_set_new(o, guide_keys[k].name, json_real(nums[k]));
  if (o && (g->set & WH_GUIDE_SKIP_STEP))
    json_object_set_new(o, "skip_step", json_integer(g->g.skip_step));
  if (o && (g->set & WH_GUIDE_STG_BLOCKS)) {
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < g->g.n_stg_blocks; i++)
      json_array_append_new(a, json_integer(g->g.stg_blocks[i]));
    json_object_set_new(o, "stg_blocks", a);
  }
  return o;
}

json_t *wh_job_params_json(const wh_job_params *p) {
  json_t *o = json_pack(
      "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "prompt",
      p->prompt ? p->prompt : "", "frames", (json_int_t)p->frames, "height",
      (json_int_t)p->height, "width", (json_int_t)p->width, "steps",
      (json_int_t)p->steps, "fps", (json_int_t)p->fps, "seed",
      (json_int_t)p->seed, "guidance", p->guidance);
  if (!o) return NULL;
  if (p->negative_prompt)
    json_object_set_new(o, "negative_prompt", json_string(p->negative_prompt));
  if (p->image_len)
    json_object_set_new(o, "image_bytes", json_integer((json_int_t)p->image_len));
  if (p->image_strength > 0)
    json_object_set_new(o, "image_strength", json_real(p->image_strength));
  if (p->video_guidance.set)
    json_object_set_new(o, "video_guidance", guide_json(&p->video_guidance));
  if (p->audio_guidance.set)
    json_object_set_new(o, "audio_guidance", guide_json(&p->audio_guidance));
  if (p->noise_file)
    json_object_set_new(o, "noise_file", json_string(p->noise_file));
  return o;
}

/* A record is warmd's own file: values are taken as they were written,
 * with only the bounds that keep the struct sane. */
static void guide_from_json(const json_t *o, wh_job_guide *g) {
  if (!json_is_object(o)) return;
  double *nums[] = {&g->g.cfg, &g->g.stg, &g->g.rescale, &g->g.modality};
  for (int k = WH_GK_CFG; k <= WH_GK_MODALITY; k++) {
    const json_t *v = json_object_get(o, guide_keys[k].name);
    if (json_is_number(v)) {
      *nums[k] = json_number_value(v);
      g->set |= guide_keys[k].bit;
    }
  }
  const json_t *v = json_object_get(o, "skip_step");
  if (json_is_integer(v)) {
    g->g.skip_step = (int)json_integer_value(v);
    g->set |= WH_GUIDE_SKIP_STEP;
  }
  const json_t *a = json_object_get(o, "stg_blocks");
  if (json_is_array(a)) {
    size_t i, n = 0;
    const json_t *b;
    json_array_foreach(a, i, b) {
      if (n < WH_LTX2_MAX_STG_BLOCKS && json_is_integer(b))
        g->g.stg_blocks[n++] = (uint32_t)json_integer_value(b);
    }
    g->g.n_stg_blocks = (uint32_t)n;
    g->set |= WH_GUIDE_STG_BLOCKS;
  }
}

void wh_job_params_from_json(const json_t *pa, wh_job_params *p) {
  memset(p, 0, sizeof *p);
  if (!json_is_object(pa)) return;
  p->prompt = json_string_value(json_object_get(pa, "prompt"));
  p->frames = (uint32_t)json_integer_value(json_object_get(pa, "frames"));
  p->height = (uint32_t)json_integer_value(json_object_get(pa, "height"));
  p->width = (uint32_t)json_integer_value(json_object_get(pa, "width"));
  p->steps = (uint32_t)json_integer_value(json_object_get(pa, "steps"));
  p->fps = (uint32_t)json_integer_value(json_object_get(pa, "fps"));
  p->seed = (uint64_t)json_integer_value(json_object_get(pa, "seed"));
  p->guidance = json_number_value(json_object_get(pa, "guidance"));
  p->negative_prompt =
      json_string_value(json_object_get(pa, "negative_prompt"));
  json_int_t ib = json_integer_value(json_object_get(pa, "image_bytes"));
  p->image_len = ib > 0 ? (size_t)ib : 0;
  p->image_strength = json_number_value(json_object_get(pa, "image_strength"));
  guide_from_json(json_object_get(pa, "video_guidance"), &p->video_guidance);
  guide_from_json(json_object_get(pa, "audio_guidance"), &p->audio_guidance);
  p->noise_file = json_string_value(json_object_get(pa, "noise_file"));
}
