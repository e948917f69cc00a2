/*
 * host/admin_cmds.c — the admin command TABLE and its handlers. One entry
 * per command; handlers run on the loop thread and never block: anything
 * that calls a plugin goes to the loader thread (wh_daemon_control).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "http_api.h"
#include "log.h"
#include "reload.h"
#include "status.h"
#include <time.h>

/* Prints a jansson document as the reply (compact: one line, no blanks). */
static int reply_json(wh_admin_req *req, json_t *doc) {
  char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(doc);
  if (!s) return wh_admin_fail(req, 500, "out of memory");
  wh_sb_printf(&req->out, "%s", s);
  free(s);
  return WH_REPLY_DONE;
}

void wh_admin_help(wh_strbuf *out, int read_only) {
  for (size_t i = 0; i < wh_admin_n_commands; i++) {
    const wh_admin_cmd *c = &wh_admin_commands[i];
    if (read_only && !(c->flags & WH_CMD_READONLY)) continue;
    char syn[128];
    snprintf(syn, sizeof syn, "%s%s%s%s", c->words, c->usage ? " " : "",
             c->usage ? c->usage : "",
             (c->flags & WH_CMD_JSON) ? " [json]" : "");
    wh_sb_printf(out, "%-44s %s\n", syn, c->help);
  }
}

static int cmd_help(wh_admin_req *req) {
  wh_admin_help(&req->out, req->read_only);
  return WH_REPLY_DONE;
}

static int cmd_show_info(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_runtime *rt = d->rt;
  pthread_mutex_lock(&rt->lock);
  size_t nc = rt->n_components, nd = rt->n_devices;
  pthread_mutex_unlock(&rt->lock);
  long uptime = (long)(time(NULL) - d->started);
  if (req->cmd.json)
    return reply_json(
        req,
        json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:s, s:I, s:I, s:I, "
                  "s:I, s:b, s:s}",
                  "version", WARMD_VERSION, "sdk", warm_sdk_version(),
                  "abi_major", WARM_ABI_MAJOR, "abi_minor", WARM_ABI_MINOR,
                  "pid", (json_int_t)getpid(), "uptime_s", (json_int_t)uptime,
                  "config", d->config_path, "components", (json_int_t)nc,
                  "devices", (json_int_t)nd, "reloads_ok",
                  (json_int_t)d->reloads_ok, "reloads_failed",
                  (json_int_t)d->reloads_failed, "reloading", d->reload_running,
                  "last_reload", d->last_reload));
  wh_sb_printf(&req->out,
               "version: %s\nsdk: %s\nabi: %d.%d\npid: %ld\nuptime_s: %ld\n"
               "config: %s\ncomponents: %zu\ndevices: %zu\nreloads_ok: %llu\n"
               "reloads_failed: %llu\nreloading: %s\nlast_reload: %s",
               WARMD_VERSION, warm_sdk_version(), WARM_ABI_MAJOR,
               WARM_ABI_MINOR, (long)getpid(), uptime, d->config_path, nc, nd,
               (unsigned long long)d->reloads_ok,
               (unsigned long long)d->reloads_failed,
               d->reload_running ? "yes" : "no",
               d->last_reload[0] ? d->last_reload : "-");
  return WH_REPLY_DONE;
}

/* Reads the component list under rt->lock; plugins are not called. */
static int cmd_show_components(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_runtime *rt = d->rt;
  if (req->cmd.json) {
    json_t *arr = wh_status_components(rt);
    return reply_json(req, arr ? json_pack("{s:o}", "components", arr) : NULL);
  }
  wh_sb_printf(&req->out, "%-20s %-20s %-8s %-13s %-7s %-16s %-5s %s\n",
               "NAME", "PLUGIN", "VERSION", "KIND", "DEVICE", "PLACEMENT",
               "DTYPE", "STATE");
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components; i++) {
    const wh_component *c = rt->components[i];
    const warm_plugin_desc *pd = wh_plugin_desc(c->plugin);
    const char *active =
        c->state == WH_COMP_PLACED ? warm_placement_name(c->active) : "none";
    char pl[40];
    if (c->placement == WARM_PLACE_AUTO)
      snprintf(pl, sizeof pl, "auto(%s)", active);
    else
      snprintf(pl, sizeof pl, "%s", warm_placement_name(c->placement));
    wh_sb_printf(&req->out, "%-20s %-20s %-8s %-13s %-7s %-16s %-5s %s%s%s\n",
                 c->name, wh_plugin_short(c->plugin), pd->version,
                 warm_kind_name(pd->kind), c->dev->name, pl,
                 warm_dtype_name(c->cc->dtype), wh_comp_state_name(c->state),
                 c->last_error[0] ? ": " : "", c->last_error);
  }
  pthread_mutex_unlock(&rt->lock);
  return WH_REPLY_DONE;
}

static void mem_line(void *user, const warm_ledger_entry *e) {
  char a[32], b[32], c[32], p[32];
  wh_sb_printf(user,
               "  %-20s resident %-11s window %-11s workspace %-11s peak "
               "%s\n",
               e->component, warm_format_size(e->persistent, a, sizeof a),
               warm_format_size(e->window, b, sizeof b),
               warm_format_size(e->workspace, c, sizeof c),
               warm_format_size(e->peak, p, sizeof p));
}

/* One ledger as `show memory` prints it in text. */
static void ledger_text(wh_admin_req *req, const wh_device *dv,
                        const char *label) {
  warm_ledger_stats st;
  warm_ledger_stats_get(dv->ledger, &st);
  char b[32], u[32], p[32], a[32];
  wh_sb_printf(&req->out, "%s %s: budget %s, used %s, peak %s, available %s\n",
               label, dv->name, warm_format_size(st.budget, b, sizeof b),
               warm_format_size(st.used, u, sizeof u),
               warm_format_size(st.peak, p, sizeof p),
               warm_format_size(warm_ledger_available(dv->ledger), a, sizeof a));
  warm_ledger_foreach(dv->ledger, mem_line, &req->out);
}

/* Ledger figures per device, then the host ledger (the jobs' buffers under
 * "jobs", pinned host copies under their components); the ledgers lock
 * themselves. */
static int cmd_show_memory(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_runtime *rt = d->rt;
  if (req->cmd.json) {
    json_t *devs = wh_status_memory(rt), *host = wh_status_host(rt);
    return reply_json(req, devs && host ? json_pack("{s:o, s:o}", "devices",
                                                    devs, "host", host)
                                        : NULL);
  }
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_devices; i++)
    ledger_text(req, rt->devices[i], "device");
  ledger_text(req, rt->host, "memory");
  pthread_mutex_unlock(&rt->lock);
  return WH_REPLY_DONE;
}

static int cmd_show_config(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_runtime *rt = d->rt;
  pthread_mutex_lock(&rt->lock);
  wh_config *cfg = rt->config ? wh_config_ref(rt->config) : NULL;
  pthread_mutex_unlock(&rt->lock);
  if (!cfg) return wh_admin_fail(req, 500, "no configuration loaded");
  int rc;
  if (req->cmd.json) {
    rc = reply_json(req, wh_config_json(cfg));
  } else {
    char *text = wh_config_render(cfg);
    rc = text ? WH_REPLY_DONE : wh_admin_fail(req, 500, "out of memory");
    if (text) wh_sb_printf(&req->out, "%s", text);
    free(text);
  }
  wh_config_free(cfg);
  return rc;
}

static int cmd_reload(wh_admin_req *req) {
  return wh_daemon_reload(req->app, req);
}

static void stop_later(void *arg) {
  wh_daemon_stop(arg);
}

/* Replies first; the stop runs from the next loop turn. */
static int cmd_shutdown(wh_admin_req *req) {
  wh_daemon *d = req->app;
  if (d->stopping) return wh_admin_fail(req, 409, "already shutting down");
  wh_sb_printf(&req->out, "OK shutting down");
  /* After this reply is queued, so it is flushed before the close. */
  wh_daemon_post(d, stop_later, d);
  return WH_REPLY_DONE;
}

/* Loader thread. */
static void set_component(wh_daemon *d, wh_admin_req *req) {
  const char **a = req->cmd.argv;
  char reply[512];
  warm_error e = {0};
  /* A plugin without live placement is re-created: between jobs. */
  int live = 1;
  pthread_mutex_lock(&d->rt->lock);
  for (size_t i = 0; i < d->rt->n_components; i++)
    if (!strcmp(d->rt->components[i]->name, a[0]))
      live = (wh_plugin_desc(d->rt->components[i]->plugin)->flags &
              WARM_FLAG_LIVE_PLACEMENT) != 0;
  pthread_mutex_unlock(&d->rt->lock);
  wh_jobs *jobs = !live && d->api ? wh_api_jobs(d->api) : NULL;
  if (jobs) wh_jobs_hold(jobs);
  int rc = wh_runtime_set(d->rt, a[0], a[1], a[2], reply, sizeof reply, &e);
  if (jobs) wh_jobs_release(jobs);
  if (rc == 0) {
    wh_log(WARM_LOG_INFO, "admin", "set %s", reply);
    wh_sb_printf(&req->out, "%s", reply);
    return;
  }
  int code = 500;
  if (!strncmp(e.msg, "no component", 12))
    code = 404;
  else if (rc == WARM_EINVAL || rc == WARM_EUNSUPPORTED)
    code = 400;
  else if (rc == WARM_ENOSPACE)
    code = 507;
  wh_log(WARM_LOG_WARN, "admin", "set component %s %s %s: %s", a[0], a[1], a[2],
         e.msg);
  wh_admin_fail(req, code, "%s", e.msg);
}

static int cmd_set_component(wh_admin_req *req) {
  return wh_daemon_control(req->app, req, set_component);
}

/* ---- swap ------------------------------------------------------------------
 */

static double wh_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The encoder-side identity a cache entry is keyed by; "" when the
 * component is gone or its plugin has no fingerprint entry. */
static void fingerprint_of(wh_runtime *rt, const char *name, char out[65]) {
  out[0] = '\0';
  wh_component *c = NULL;
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, name)) c = rt->components[i];
  pthread_mutex_unlock(&rt->lock);
  const warm_plugin_desc *d = c ? wh_plugin_desc(c->plugin) : NULL;
  int (*fp)(warm_instance *, char[65], warm_error *) =
      d ? WARM_DESC_OPT(d, fingerprint) : NULL;
  if (fp && fp(c->inst, out, NULL) != 0) out[0] = '\0';
}

/* Loader thread. A swap is a reload of the running configuration with one
 * component's plugin (and weights) replaced: prepare opens the plugin and
 * creates the instance while jobs keep running; the commit falls between
 * jobs; the old instance is destroyed after its last call; the other
 * components are not touched. The swap lives in memory: a later `reload`
 * reads the file again. */
static void swap_component(wh_daemon *d, wh_admin_req *req) {
  const char **a = req->cmd.argv;
  int argc = req->cmd.argc;
  if (strcmp(a[1], "plugin") || (argc == 5 && strcmp(a[3], "weights")) ||
      argc == 4) {
    wh_admin_fail(req, 400,
                  "usage: swap component NAME plugin PLUGIN "
                  "[weights PATH]");
    return;
  }
  wh_runtime *rt = d->rt;
  pthread_mutex_lock(&rt->lock);
  wh_config *run = rt->config ? wh_config_ref(rt->config) : NULL;
  pthread_mutex_unlock(&rt->lock);
  char *text = run ? wh_config_render(run) : NULL;
  wh_config *nc = NULL;
  if (!text || wh_config_parse(run->path, text, strlen(text), &nc) ||
      nc->n_errors) {
    wh_admin_fail(req, 500, "cannot copy the running configuration");
    goto out;
  }
  wh_cfg_component *cc = NULL;
  for (size_t i = 0; i < nc->n_components; i++)
    if (!strcmp(nc->components[i].name, a[0])) cc = &nc->components[i];
  if (!cc) {
    wh_admin_fail(req, 404, "no component named '%s'", a[0]);
    goto out;
  }
  char *plugin = strdup(a[2]), *weights = NULL;
  if (argc == 5) {
    size_t n = strlen(run->dir) + strlen(a[4]) + 2;
    if ((weights = malloc(n)))
      snprintf(weights, n, "%s%s%s", a[4][0] == '/' ? "" : run->dir,
               a[4][0] == '/' ? "" : "/", a[4]);
  }
  if (!plugin || (argc == 5 && !weights)) {
    free(plugin);
    free(weights);
    wh_admin_fail(req, 500, "out of memory");
    goto out;
  }
  free(cc->plugin);
  cc->plugin = plugin;
  if (argc == 5) {
    free(cc->weights);
    cc->weights = weights;
  }
  char old_fp[65], new_fp[65];
  fingerprint_of(rt, a[0], old_fp);
  wh_plan *plan = NULL;
  if (wh_reload_prepare(rt, nc, &plan) != 0) {
    char msg[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < nc->n_errors && used + 1 < sizeof msg; i++) {
      int w = snprintf(msg + used, sizeof msg - used, "%s%s", i ? "; " : "",
                       nc->errors[i]);
      if (w < 0) break;
      used += (size_t)w;
    }
    __atomic_add_fetch(&d->swaps_failed, 1, __ATOMIC_RELAXED);
    wh_log(WARM_LOG_WARN, "admin", "swap %s failed, old instance serving: %s",
           a[0], msg);
    wh_admin_fail(req, 400, "swap failed, %s still serves the old instance: %s",
                  a[0], msg);
    goto out;
  }
  char summary[2048];
  warm_error e = {0};
  wh_jobs *jobs = d->api ? wh_api_jobs(d->api) : NULL;
  double t0 = wh_now_s();
  if (jobs) wh_jobs_hold(jobs); /* waits for the running job to end */
  double t1 = wh_now_s();
  int rc = wh_reload_commit(rt, plan, summary, sizeof summary, &e);
  if (jobs) wh_jobs_release(jobs);
  double ms = (wh_now_s() - t1) * 1e3, wait_ms = (t1 - t0) * 1e3;
  if (rc) {
    __atomic_add_fetch(&d->swaps_failed, 1, __ATOMIC_RELAXED);
    wh_admin_fail(req, 500, "swap of %s failed at commit: %s", a[0], e.msg);
    goto out;
  }
  __atomic_add_fetch(&d->swaps_ok, 1, __ATOMIC_RELAXED);
  fingerprint_of(rt, a[0], new_fp);
  uint64_t dropped = 0;
  if (old_fp[0] && strcmp(old_fp, new_fp))
    dropped = wh_embcache_drop(d->cache, old_fp);
  wh_log(WARM_LOG_INFO, "admin", "swapped %s to plugin %s: %s", a[0], a[2],
         summary);
  wh_sb_printf(&req->out,
               "swapped %s: plugin %s%s%s; waited %.2f ms for the running "
               "job, commit %.2f ms; %llu cached embeddings dropped; %s",
               a[0], a[2], argc == 5 ? ", weights " : "", argc == 5 ? a[4] : "",
               wait_ms, ms, (unsigned long long)dropped, summary);
out:
  wh_config_free(nc);
  free(text);
  wh_config_free(run);
}

static int cmd_swap_component(wh_admin_req *req) {
  return wh_daemon_control(req->app, req, swap_component);
}

/* ---- jobs and the embedding cache (the HTTP data plane) ---------------- */

static int no_http(wh_admin_req *req) {
  return wh_admin_fail(req, 409,
                       "no HTTP data plane: set [host] http_listen to take "
                       "jobs");
}

static int cmd_show_jobs(wh_admin_req *req) {
  wh_daemon *d = req->app;
  if (!d->api) return no_http(req);
  wh_api_show_jobs(d->api, &req->out, req->cmd.json);
  if (req->out.oom) return wh_admin_fail(req, 500, "out of memory");
  return WH_REPLY_DONE;
}

static int cmd_drain(wh_admin_req *req) {
  wh_daemon *d = req->app;
  if (!d->api) return no_http(req);
  wh_api_drain(d->api);
  wh_jobs_stats st;
  wh_jobs_stats_get(wh_api_jobs(d->api), &st);
  wh_log(WARM_LOG_INFO, "admin", "drain: not taking jobs");
  wh_sb_printf(&req->out,
               "OK draining: new jobs are refused (503); %llu queued and "
               "%llu running will finish",
               (unsigned long long)st.by_state[WH_JOB_QUEUED],
               (unsigned long long)st.by_state[WH_JOB_RUNNING]);
  return WH_REPLY_DONE;
}

static int cmd_resume(wh_admin_req *req) {
  wh_daemon *d = req->app;
  if (!d->api) return no_http(req);
  wh_api_resume(d->api);
  wh_log(WARM_LOG_INFO, "admin", "resume: taking jobs");
  wh_sb_printf(&req->out, "OK taking jobs");
  return WH_REPLY_DONE;
}

static int cmd_show_cache(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_embcache_stats st;
  wh_embcache_stats_get(d->cache, &st);
  if (req->cmd.json) return reply_json(req, wh_status_cache(d->cache));
  /* Sizes for people (exact bytes in parentheses); json has the bytes. */
  char hb[32], hu[32];
  wh_sb_printf(&req->out,
               "budget: %s (%llu bytes)\nbytes: %s (%llu bytes)\n"
               "entries: %llu\nhits: %llu\nmisses: %llu\ninserts: %llu\n"
               "evictions: %llu",
               warm_format_size(st.budget, hb, sizeof hb),
               (unsigned long long)st.budget,
               warm_format_size(st.bytes, hu, sizeof hu),
               (unsigned long long)st.bytes, (unsigned long long)st.entries,
               (unsigned long long)st.hits, (unsigned long long)st.misses,
               (unsigned long long)st.inserts,
               (unsigned long long)st.evictions);
  return WH_REPLY_DONE;
}

static int cmd_cache_clear(wh_admin_req *req) {
  wh_daemon *d = req->app;
  wh_embcache_stats st;
  wh_embcache_stats_get(d->cache, &st);
  wh_embcache_clear(d->cache);
  wh_sb_printf(&req->out, "OK cleared %llu entries",
               (unsigned long long)st.entries);
  return WH_REPLY_DONE;
}

const wh_admin_cmd wh_admin_commands[] = {
    {"help", 0, 0, WH_CMD_READONLY, NULL, "list the commands", cmd_help},
    {"show info", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "version, pid, uptime, reload status", cmd_show_info},
    {"show components", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "components with plugin, device, placement, state", cmd_show_components},
    {"show memory", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "per device budget/used/peak and per component bytes", cmd_show_memory},
    {"show config", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "the running configuration, normalised", cmd_show_config},
    {"set component", 3, 3, 0, "NAME placement|stream_window VALUE",
     "live placement (resident|stream|auto) or window size", cmd_set_component},
    {"swap component", 3, 5, 0, "NAME plugin PLUGIN [weights PATH]",
     "replace a component's plugin/weights between jobs", cmd_swap_component},
    {"reload", 0, 0, 0, NULL, "re-read the config file, apply differences",
     cmd_reload},
    {"show jobs", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "HTTP jobs: id, state, progress, prompt", cmd_show_jobs},
    {"show cache", 0, 0, WH_CMD_READONLY | WH_CMD_JSON, NULL,
     "embedding cache: budget, bytes, entries, hits, misses", cmd_show_cache},
    {"cache clear", 0, 0, 0, NULL, "drop every cached embedding",
     cmd_cache_clear},
    {"drain", 0, 0, 0, NULL,
     "stop taking HTTP jobs (503); queued and running ones finish", cmd_drain},
    {"resume", 0, 0, 0, NULL, "take HTTP jobs again after drain", cmd_resume},
    {"shutdown", 0, 0, 0, NULL, "stop warmd gracefully", cmd_shutdown},
};
const size_t wh_admin_n_commands =
    sizeof wh_admin_commands / sizeof wh_admin_commands[0];
