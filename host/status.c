/*
 * host/status.c — the JSON views shared by the admin socket and GET
 * /v1/status (see status.h).
 */
#include "status.h"

#include "warm/ledger.h"
#include "warm/warm.h"

json_t *wh_status_components(wh_runtime *rt) {
  json_t *arr = json_array();
  if (!arr) return NULL;
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components; i++) {
    const wh_component *c = rt->components[i];
    const warm_plugin_desc *pd = wh_plugin_desc(c->plugin);
    const char *active =
        c->state == WH_COMP_PLACED ? warm_placement_name(c->active) : "none";
    json_array_append_new(
        arr,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, "
                  "s:I, s:s}",
                  "name", c->name, "plugin", wh_plugin_short(c->plugin),
                  "version", pd->version, "kind", warm_kind_name(pd->kind),
                  "device", c->dev->name, "placement",
                  warm_placement_name(c->placement), "active_placement",
                  active, "dtype", warm_dtype_name(c->cc->dtype), "state",
                  wh_comp_state_name(c->state), "stream_window",
                  (json_int_t)c->stream_window, "stream_source",
                  warm_source_name(c->stream_source), "priority",
                  (json_int_t)c->priority, "error", c->last_error));
  }
  pthread_mutex_unlock(&rt->lock);
  return arr;
}

static void mem_entry(void *user, const warm_ledger_entry *e) {
  json_array_append_new(
      user, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", e->component,
                      "resident", (json_int_t)e->persistent, "window",
                      (json_int_t)e->window, "workspace",
                      (json_int_t)e->workspace, "reserved",
                      (json_int_t)e->reserved, "peak", (json_int_t)e->peak));
}

/* One ledger: {name, budget, used, booked, peak, available, components}. */
static json_t *ledger_json(const wh_device *dv) {
  warm_ledger_stats st;
  warm_ledger_stats_get(dv->ledger, &st);
  json_t *comps = json_array();
  if (comps) warm_ledger_foreach(dv->ledger, mem_entry, comps);
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o*}", "name", dv->name,
                   "budget", (json_int_t)st.budget, "used",
                   (json_int_t)st.used, "booked", (json_int_t)st.booked,
                   "peak", (json_int_t)st.peak, "available",
                   (json_int_t)warm_ledger_available(dv->ledger),
                   "components", comps);
}

json_t *wh_status_memory(wh_runtime *rt) {
  json_t *devs = json_array();
  if (!devs) return NULL;
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_devices; i++)
    json_array_append_new(devs, ledger_json(rt->devices[i]));
  pthread_mutex_unlock(&rt->lock);
  return devs;
}

json_t *wh_status_host(wh_runtime *rt) {
  pthread_mutex_lock(&rt->lock);
  json_t *o = rt->host ? ledger_json(rt->host) : json_null();
  pthread_mutex_unlock(&rt->lock);
  return o;
}

json_t *wh_status_cache(wh_embcache *cache) {
  wh_embcache_stats st = {0};
  if (cache) wh_embcache_stats_get(cache, &st);
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "budget",
                   (json_int_t)st.budget, "bytes", (json_int_t)st.bytes,
                   "entries", (json_int_t)st.entries, "hits",
                   (json_int_t)st.hits, "misses", (json_int_t)st.misses,
                   "inserts", (json_int_t)st.inserts, "evictions",
                   (json_int_t)st.evictions);
}
