/*
 * host/config_show.c — rendering a wh_config for `show config` (normalised
 * INI text with defaults filled in, or JSON). Kept apart from the parser so
 * each file holds one concern.
 */
#include "auth.h"
#include "config.h"
#include "log.h"
#include "strbuf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *level_name(int lv) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  return lv >= 0 && lv < 4 ? names[lv] : "info";
}

static int is_std_key(const char *k) {
  static const char *const std[] = {
      "plugin",        "weights", "device",   "placement", "stream_window",
      "stream_source", "dtype",   "priority", NULL};
  for (const char *const *p = std; *p; p++)
    if (!strcmp(*p, k)) return 1;
  return 0;
}

/* key = value, as inih reads it back: a value that starts with ';' is only
 * a value when no space precedes it (" ;" starts an inline comment). */
static void kv(wh_strbuf *b, const char *key, const char *value) {
  wh_sb_printf(b, "%s =%s%s\n", key, value[0] == ';' ? "" : " ", value);
}

char *wh_config_render(const wh_config *c) {
  wh_strbuf b = {0};
  wh_sb_printf(&b, "# %s\n[host]\n", c->path);
  kv(&b, "plugin_dir", c->plugin_dir ? c->plugin_dir : "");
  kv(&b, "admin_socket", c->admin_socket ? c->admin_socket : "");
  wh_sb_printf(&b, "admin_socket_mode = %04o\n", c->admin_socket_mode);
  if (c->stats_socket) kv(&b, "stats_socket", c->stats_socket);
  wh_sb_printf(&b, "stats_socket_mode = %04o\n", c->stats_socket_mode);
  if (c->memory_budget)
    wh_sb_printf(&b, "memory_budget = %llu\n",
                 (unsigned long long)c->memory_budget);
  if (c->output_dir) kv(&b, "output_dir", c->output_dir);
  wh_sb_printf(&b, "log_level = %s\n", level_name(c->log_level));
  if (c->http_listen) kv(&b, "http_listen", c->http_listen);
  wh_sb_printf(&b, "max_body = %llu\nmax_queue = %u\nshutdown_timeout = %g\n",
               (unsigned long long)c->max_body, c->max_queue,
               c->shutdown_timeout);
  wh_sb_printf(&b, "log_format = %s\n",
               c->log_format == WH_LOG_JSON ? "json" : "text");
  if (c->api_keys_file) kv(&b, "api_keys_file", c->api_keys_file);
  wh_sb_printf(&b, "auth_exempt_metrics = %s\n",
               c->auth_exempt_metrics ? "yes" : "no");
  if (c->instance_id) kv(&b, "instance_id", c->instance_id);
  wh_sb_printf(&b, "job_retention = %g\njobs_kept = %u\n", c->job_retention,
               c->jobs_kept);
  for (size_t i = 0; i < c->n_devices; i++) {
    const wh_cfg_device *d = &c->devices[i];
    wh_sb_printf(&b, "[device %s]\nbudget = %llu\nreserve = %llu\n", d->name,
                 (unsigned long long)d->budget, (unsigned long long)d->reserve);
    if (d->dev.type == WARM_DEVICE_CPU)
      wh_sb_printf(&b, "threads = %d\n", d->threads);
  }
  wh_sb_printf(&b, "[cache]\nembeddings = %llu\n",
               (unsigned long long)c->cache_embeddings);
  for (size_t i = 0; i < c->n_components; i++) {
    const wh_cfg_component *cc = &c->components[i];
    wh_sb_printf(&b, "[component %s]\n", cc->name);
    kv(&b, "plugin", cc->plugin ? cc->plugin : "");
    if (cc->weights) kv(&b, "weights", cc->weights);
    wh_sb_printf(&b,
                 "device = %s\nplacement = %s\nstream_window = %u\n"
                 "stream_source = %s\ndtype = %s\npriority = %d\n",
                 cc->device_name ? cc->device_name : "cpu",
                 warm_placement_name(cc->placement), cc->stream_window,
                 warm_source_name(cc->stream_source),
                 warm_dtype_name(cc->dtype), cc->priority);
    for (size_t k = 0; k < cc->n_all; k++)
      if (!is_std_key(cc->all[k].key))
        kv(&b, cc->all[k].key, cc->all[k].value);
  }
  const wh_cfg_pipeline *p = &c->pipeline;
  if (p->present) {
    wh_sb_printf(&b, "[pipeline]\ntype = %s\n", wh_pipe_type_name(p->type));
    if (p->encoder) kv(&b, "encoder", p->encoder);
    if (p->n_stages) {
      wh_sb_printf(&b, "stages = ");
      for (size_t i = 0; i < p->n_stages; i++)
        wh_sb_printf(&b, "%s%s%s%s", i ? ", " : "", p->stages[i],
                     p->stage_adapters[i] ? "+" : "",
                     p->stage_adapters[i] ? p->stage_adapters[i] : "");
      wh_sb_printf(&b, "\n");
    }
    if (p->upsampler) kv(&b, "upsampler", p->upsampler);
    if (p->decoder) kv(&b, "decoder", p->decoder);
    if (p->audio_decoder) kv(&b, "audio_decoder", p->audio_decoder);
    wh_sb_printf(&b, "y4m = %s\n", p->y4m ? "true" : "false");
    /* The LTX-2 types leave an absent default to the checkpoint's
     * version, so only the keys the file gave are shown. */
    int all = !wh_pipe_type_is_ltx2(p->type);
    if (all || p->frames_line) wh_sb_printf(&b, "frames = %u\n", p->frames);
    if (all || p->height_line) wh_sb_printf(&b, "height = %u\n", p->height);
    if (all || p->width_line) wh_sb_printf(&b, "width = %u\n", p->width);
    if (all || p->steps_line) wh_sb_printf(&b, "steps = %u\n", p->steps);
    if (all || p->fps_line) wh_sb_printf(&b, "fps = %g\n", p->fps);
    if (all || p->guidance_line)
      wh_sb_printf(&b, "guidance = %g\n", p->guidance);
  }
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

json_t *wh_config_json(const wh_config *c) {
  json_t *root = json_object();
  json_t *host = json_pack(
      "{s:s?, s:s?, s:s?, s:I, s:s?, s:s?, s:s}", "file", c->path, "plugin_dir",
      c->plugin_dir, "admin_socket", c->admin_socket, "admin_socket_mode",
      (json_int_t)c->admin_socket_mode, "stats_socket", c->stats_socket,
      "output_dir", c->output_dir, "log_level", level_name(c->log_level));
  if (host) {
    json_object_set_new(host, "http_listen",
                        c->http_listen ? json_string(c->http_listen)
                                       : json_null());
    json_object_set_new(host, "memory_budget",
                        json_integer((json_int_t)c->memory_budget));
    json_object_set_new(host, "stats_socket_mode",
                        json_integer((json_int_t)c->stats_socket_mode));
    json_object_set_new(host, "max_body",
                        json_integer((json_int_t)c->max_body));
    json_object_set_new(host, "max_queue",
                        json_integer((json_int_t)c->max_queue));
    json_object_set_new(host, "shutdown_timeout",
                        json_real(c->shutdown_timeout));
    json_object_set_new(
        host, "log_format",
        json_string(c->log_format == WH_LOG_JSON ? "json" : "text"));
    json_object_set_new(host, "api_keys_file",
                        c->api_keys_file ? json_string(c->api_keys_file)
                                         : json_null());
    json_object_set_new(host, "api_keys",
                        json_integer((json_int_t)wh_auth_count(c->api_keys)));
    json_object_set_new(host, "auth_exempt_metrics",
                        json_boolean(c->auth_exempt_metrics));
    json_object_set_new(host, "instance_id",
                        c->instance_id ? json_string(c->instance_id)
                                       : json_null());
    json_object_set_new(host, "job_retention", json_real(c->job_retention));
    json_object_set_new(host, "jobs_kept",
                        json_integer((json_int_t)c->jobs_kept));
  }
  json_t *devs = json_array();
  for (size_t i = 0; i < c->n_devices; i++) {
    const wh_cfg_device *d = &c->devices[i];
    json_array_append_new(devs, json_pack("{s:s, s:I, s:I}", "name", d->name,
                                          "budget", (json_int_t)d->budget,
                                          "reserve", (json_int_t)d->reserve));
  }
  json_t *comps = json_array();
  for (size_t i = 0; i < c->n_components; i++) {
    const wh_cfg_component *cc = &c->components[i];
    json_t *keys = json_object();
    for (size_t k = 0; k < cc->n_plugin_keys; k++)
      json_object_set_new(keys, cc->plugin_keys[k].key,
                          json_string(cc->plugin_keys[k].value));
    json_array_append_new(
        comps,
        json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:I, s:s, s:s, s:I, s:o}",
                  "name", cc->name, "plugin", cc->plugin, "weights",
                  cc->weights, "device", cc->device_name, "placement",
                  warm_placement_name(cc->placement), "stream_window",
                  (json_int_t)cc->stream_window, "stream_source",
                  warm_source_name(cc->stream_source), "dtype",
                  warm_dtype_name(cc->dtype), "priority",
                  (json_int_t)cc->priority, "keys", keys));
  }
  json_object_set_new(root, "host", host ? host : json_null());
  json_object_set_new(root, "devices", devs);
  json_object_set_new(
      root, "cache",
      json_pack("{s:I}", "embeddings", (json_int_t)c->cache_embeddings));
  json_object_set_new(root, "components", comps);
  const wh_cfg_pipeline *p = &c->pipeline;
  if (p->present) {
    json_t *st = json_array(), *ad = json_array();
    for (size_t i = 0; i < p->n_stages; i++) {
      json_array_append_new(st, json_string(p->stages[i]));
      json_array_append_new(ad, p->stage_adapters[i]
                                    ? json_string(p->stage_adapters[i])
                                    : json_null());
    }
    /* An LTX-2 default the file did not give is null (the checkpoint's). */
    int all = !wh_pipe_type_is_ltx2(p->type);
    json_t *pj = json_pack("{s:s, s:s?, s:o, s:o, s:s?, s:s?, s:s?, s:b}",
                           "type", wh_pipe_type_name(p->type), "encoder",
                           p->encoder, "stages", st, "stage_adapters", ad,
                           "upsampler", p->upsampler, "decoder", p->decoder,
                           "audio_decoder", p->audio_decoder, "y4m", p->y4m);
    if (pj) {
      json_object_set_new(pj, "frames",
                          all || p->frames_line
                              ? json_integer((json_int_t)p->frames)
                              : json_null());
      json_object_set_new(pj, "height",
                          all || p->height_line
                              ? json_integer((json_int_t)p->height)
                              : json_null());
      json_object_set_new(pj, "width",
                          all || p->width_line
                              ? json_integer((json_int_t)p->width)
                              : json_null());
      json_object_set_new(pj, "steps",
                          all || p->steps_line
                              ? json_integer((json_int_t)p->steps)
                              : json_null());
      json_object_set_new(pj, "fps",
                          all || p->fps_line ? json_real(p->fps) : json_null());
      json_object_set_new(pj, "guidance",
                          all || p->guidance_line ? json_real(p->guidance)
                                                  : json_null());
    }
    json_object_set_new(root, "pipeline", pj ? pj : json_null());
  }
  return root;
}
