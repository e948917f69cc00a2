/*
 * host/oneshot.c — warmd's one-job modes: `--once` (a whole generation into
 * a folder, then exit) and `--encode` (one prompt's embeddings into a
 * safetensors file). Both build the runtime exactly as the daemon's first
 * load does (prepare + commit), without the loop or the executors, so every
 * plugin call runs on this thread.
 */
#include "oneshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "embcache.h"
#include "image_in.h"
#include "job_params.h"
#include "log.h"
#include "pipeline.h"
#include "reload.h"

/* Loads, validates and places the config at path. Prints every config error
 * (FILE:LINE: message) to stderr. */
static int load(const char *path, wh_config **cfg_out, wh_runtime **rt_out) {
  wh_config *cfg = NULL;
  wh_runtime *rt = NULL;
  wh_plan *plan = NULL;
  warm_error err = {0};
  char summary[2048];
  if (wh_config_load(path, &cfg)) {
    fprintf(stderr, "%s: out of memory\n", path);
    return 1;
  }
  int rc = cfg->n_errors ? 1 : 0;
  if (!rc && (rc = wh_runtime_create(&rt)) == 0)
    rc = wh_reload_prepare(rt, cfg, &plan);
  for (size_t i = 0; i < cfg->n_errors; i++)
    fprintf(stderr, "%s\n", cfg->errors[i]);
  if (!rc && (rc = wh_reload_commit(rt, plan, summary, sizeof summary, &err)))
    fprintf(stderr, "%s: %s\n", path, err.msg);
  if (rc) {
    wh_runtime_destroy(rt);
    wh_config_free(cfg);
    return 1;
  }
  *cfg_out = cfg;
  *rt_out = rt;
  return 0;
}

typedef struct peak_ctx {
  json_t *components; /* result.json's "components" */
  wh_runtime *rt;
} peak_ctx;

/* One line per component: the placement the job actually ran it in (from
 * result.json), with the configured one beside it when that was `auto`. */
static void print_peak(void *user, const warm_ledger_entry *e) {
  peak_ctx *p = user;
  char a[32], pl[40];
  const char *used = json_string_value(json_object_get(
      json_object_get(p->components, e->component), "placement"));
  warm_placement conf = WARM_PLACE_RESIDENT;
  for (size_t i = 0; i < p->rt->n_components; i++)
    if (!strcmp(p->rt->components[i]->name, e->component))
      conf = p->rt->components[i]->placement;
  snprintf(pl, sizeof pl, "%s%s", used ? used : "-",
           conf == WARM_PLACE_AUTO ? " (auto)" : "");
  printf("  %-22s %-16s peak %10s\n", e->component, pl,
         warm_format_size(e->peak, a, sizeof a));
}

/* The short summary `make demo` shows: time per stage, the placement each
 * component ran in and its peak device bytes, where the files are. */
static void print_summary(wh_runtime *rt, const char *result_json,
                          const char *out_dir) {
  json_t *r = json_loads(result_json, 0, NULL);
  if (!r) return;
  const char *k;
  json_t *v;
  printf("job %s: %lldx%lldx%lld frames, %lld steps, seed %lld\n",
         json_string_value(json_object_get(r, "id")),
         json_integer_value(json_object_get(r, "frames")),
         json_integer_value(json_object_get(r, "height")),
         json_integer_value(json_object_get(r, "width")),
         json_integer_value(json_object_get(r, "steps")),
         json_integer_value(json_object_get(r, "seed")));
  printf("time per stage:\n");
  json_object_foreach(json_object_get(r, "timings"), k, v)
      printf("  %-32s %8.3f s\n", k, json_real_value(v));
  peak_ctx p = {json_object_get(r, "components"), rt};
  for (size_t d = 0; d < rt->n_devices; d++) {
    warm_ledger_stats st;
    char a[32], b[32];
    warm_ledger_stats_get(rt->devices[d]->ledger, &st);
    printf("device %s: peak %s of budget %s%s\n", rt->devices[d]->name,
           warm_format_size(st.peak, a, sizeof a),
           warm_format_size(st.budget, b, sizeof b),
           json_is_true(json_object_get(r, "cache_hit")) ? " (cache hit)" : "");
    warm_ledger_foreach(rt->devices[d]->ledger, print_peak, &p);
  }
  /* The files the job wrote, in a fixed order. */
  static const char *const names[] = {"video.mp4",   "audio.wav",
                                      "video.y4m",   "preview.png",
                                      "memory.png",  "result.json",
                                      "tensors.safetensors"};
  char list[512] = "";
  size_t used = 0;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out_dir, names[i]);
    if (access(path, F_OK) == 0 && used < sizeof list)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                               used ? "," : "", names[i]);
  }
  printf("files: %s/{%s}\n", out_dir, list);
  json_decref(r);
}

/* ---- the LTX-2 job flags ------------------------------------------------- */

static int flag_fail(const char *flag, const char *arg, const char *why) {
  fprintf(stderr, "warmd: --%s '%s': %s\n", flag, arg, why);
  return -1;
}

/* A whole decimal number for a flag (strtod alone would take "1e3" or
 * "0x10"). */
static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return errno || end == s || *end || !strpbrk(s, "0123456789") ||
                 strpbrk(s, "xXnN")
             ? -1
             : 0;
}

/* "28" or "1,2,3" (or "" for none): block indices. */
static int parse_blocks(const char *flag, const char *arg, wh_job_guide *g) {
  long long b[WH_LTX2_MAX_STG_BLOCKS];
  size_t n = 0;
  const char *s = arg;
  while (*s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || (*end && *end != ','))
      return flag_fail(flag, arg,
                       "expected block indices separated by commas, e.g. "
                       "28 or 1,2");
    if (n == WH_LTX2_MAX_STG_BLOCKS) {
      char why[96];
      snprintf(why, sizeof why, "at most %d blocks", WH_LTX2_MAX_STG_BLOCKS);
      return flag_fail(flag, arg, why);
    }
    b[n++] = v;
    s = *end ? end + 1 : end;
    if (*end && !*s)
      return flag_fail(flag, arg, "a trailing comma");
  }
  char what[64];
  snprintf(what, sizeof what, "--%s", flag);
  warm_error err = {0};
  if (wh_guide_set_blocks(g, b, n, what, &err))
    return flag_fail(flag, arg, err.msg + strlen(what) + 2);
  return 0;
}

int wh_oneshot_job_flag(const char *flag, const char *arg, wh_job_params *p,
                        const char **image_path) {
  if (!strcmp(flag, "negative-prompt")) {
    if (strlen(arg) > WH_JOB_MAX_PROMPT)
      return flag_fail(flag, "...", "longer than 16384 bytes");
    p->negative_prompt = arg;
    return 0;
  }
  if (!strcmp(flag, "image")) {
    *image_path = arg;
    return 0;
  }
  if (!strcmp(flag, "noise")) {
    p->noise_file = arg;
    return 0;
  }
  char what[64];
  snprintf(what, sizeof what, "--%s", flag);
  warm_error err = {0};
  double v;
  if (!strcmp(flag, "image-strength")) {
    if (parse_double(arg, &v)) return flag_fail(flag, arg, "expected a number");
    if (wh_job_check_strength(v, what, &err))
      return flag_fail(flag, arg, strstr(err.msg, "must"));
    p->image_strength = v;
    return 0;
  }
  int video = !strncmp(flag, "video-", 6);
  if (!video && strncmp(flag, "audio-", 6))
    return flag_fail(flag, arg, "not a job flag");
  wh_job_guide *g = video ? &p->video_guidance : &p->audio_guidance;
  const char *key = flag + 6;
  if (!strcmp(key, "stg-blocks")) return parse_blocks(flag, arg, g);
  static const char *const keys[] = {"cfg", "stg", "rescale", "modality",
                                     "skip-step"};
  int k = -1;
  for (int i = 0; i < 5; i++)
    if (!strcmp(key, keys[i])) k = i;
  if (k < 0) return flag_fail(flag, arg, "not a job flag");
  if (parse_double(arg, &v)) return flag_fail(flag, arg, "expected a number");
  if (wh_guide_set_number(g, (wh_guide_key)k, v, what, &err))
    return flag_fail(flag, arg, strstr(err.msg, "must"));
  return 0;
}

/* Reads the --image file whole and checks it is a PNG or JPEG of a sane
 * size; *bytes is malloc'd. */
static int read_image(const char *path, uint8_t **bytes, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "warmd --once: --image %s: cannot open: %s\n", path,
            strerror(errno));
    return -1;
  }
  uint8_t *b = NULL;
  size_t n = 0, cap = 0;
  int bad = 0;
  for (;;) {
    if (n == cap) {
      uint8_t *nb = cap < (1u << 30) ? realloc(b, cap = cap * 2 + 65536) : NULL;
      if (!nb) {
        bad = 1;
        break;
      }
      b = nb;
    }
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  bad |= ferror(f);
  fclose(f);
  warm_error err = {0};
  wh_image_format fmt;
  uint32_t w, h;
  if (bad) {
    fprintf(stderr, "warmd --once: --image %s: cannot read it whole\n", path);
  } else if (wh_image_probe(b, n, &fmt, &w, &h, &err)) {
    fprintf(stderr, "warmd --once: --image %s: %s\n", path, err.msg);
    bad = 1;
  }
  if (bad) {
    free(b);
    return -1;
  }
  *bytes = b;
  *len = n;
  return 0;
}

int wh_oneshot_once(const char *config_path, const wh_job_params *params,
                    const char *image_path, const char *out_dir) {
  wh_job_params p = *params;
  uint8_t *image = NULL;
  if (image_path) {
    if (read_image(image_path, &image, &p.image_len)) return 1;
    p.image = image;
  } else if (p.image_strength > 0) {
    fprintf(stderr, "warmd --once: --image-strength needs --image FILE\n");
    return 1;
  }
  if (p.noise_file && access(p.noise_file, R_OK) != 0) {
    fprintf(stderr, "warmd --once: --noise %s: cannot read: %s\n",
            p.noise_file, strerror(errno));
    free(image);
    return 1;
  }
  wh_config *cfg;
  wh_runtime *rt;
  if (load(config_path, &cfg, &rt)) {
    free(image);
    return 1;
  }
  warm_error err = {0};
  int rc = wh_pipeline_resolve(rt, &p, &err);
  if (rc) {
    fprintf(stderr, "warmd --once: %s\n", err.msg);
  } else {
    char id[64], dir[4096];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(id, sizeof id, "once-%04d%02d%02d-%02d%02d%02d-%d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)getpid());
    if (out_dir)
      snprintf(dir, sizeof dir, "%s", out_dir);
    else
      snprintf(dir, sizeof dir, "%s/%s", cfg->output_dir ? cfg->output_dir : ".",
               id);
    wh_embcache *cache = NULL;
    if (cfg->cache_embeddings) wh_embcache_create(cfg->cache_embeddings, &cache);
    char *result = NULL;
    wh_job_ctl ctl = {0};
    rc = wh_pipeline_run(rt, cache, id, &p, dir, &ctl, &result, &err);
    if (rc)
      fprintf(stderr, "warmd --once: job failed: %s\n", err.msg);
    else
      print_summary(rt, result, dir);
    free(result);
    wh_embcache_destroy(cache);
  }
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
  free(image);
  return rc ? 1 : 0;
}

int wh_oneshot_encode(const char *config_path, const char *component,
                      const char *prompt, const char *out_path) {
  wh_config *cfg;
  wh_runtime *rt;
  if (load(config_path, &cfg, &rt)) return 1;
  const char *name = component;
  if (!name && cfg->pipeline.present) name = cfg->pipeline.encoder;
  /* Without [pipeline] encoder: the only text encoder configured. */
  for (size_t i = 0; !name && i < rt->n_components; i++) {
    const warm_plugin_desc *d = wh_plugin_desc(rt->components[i]->plugin);
    if (d->kind == WARM_KIND_TEXT_ENCODER) name = rt->components[i]->name;
  }
  warm_error err = {0};
  int rc = 1;
  if (!name)
    fprintf(stderr, "warmd --encode: %s has no text encoder component\n",
            config_path);
  else if ((rc = wh_pipeline_encode_to_file(rt, name, prompt, out_path, &err)))
    fprintf(stderr, "warmd --encode: %s\n", err.msg);
  else
    printf("%s: embeddings of \"%s\" from %s\n", out_path, prompt, name);
  wh_runtime_destroy(rt);
  wh_config_free(cfg);
  return rc ? 1 : 0;
}
