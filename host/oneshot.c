/*
 * host/oneshot.c — warmd's one-job modes: `--once` (a whole generation into
 * a folder, then exit) and `--encode` (one prompt's embeddings into a
 * safetensors file). Both build the runtime exactly as the daemon's first
 * load does (prepare + commit), without the loop or the executors, so every
 * plugin call runs on this thread.
 */
#include "oneshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "embcache.h"
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
  printf("files: %s/{video.mp4,video.y4m,preview.png,memory.png,result.json}\n",
         out_dir);
  json_decref(r);
}

int wh_oneshot_once(const char *config_path, const wh_job_params *params,
                    const char *out_dir) {
  wh_config *cfg;
  wh_runtime *rt;
  if (load(config_path, &cfg, &rt)) return 1;
  wh_job_params p = *params;
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
