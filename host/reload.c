/*
 * host/reload.c — prepare / commit of a configuration (see reload.h).
 */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "warm/loader.h"
#include "wiring.h"
#include "wk.h"

typedef enum item_action {
  IT_KEEP, /* same instance, same placement (maybe a new priority) */
  IT_REPLACE_PLACEMENT, /* same instance, place() with new settings */
  IT_REPLACE,           /* new instance replaces the old one */
  IT_ADD,               /* new instance, no old one */
  IT_REMOVE,            /* old instance goes away */
} item_action;

typedef struct plan_item {
  item_action action;
  const wh_cfg_component *cc; /* in the new config (NULL for REMOVE) */
  wh_component *old;
  wh_component *fresh;
  wh_device *dev;
  warm_placement concrete;        /* RESIDENT or STREAM */
  warm_estimate est;              /* for `concrete` */
  warm_estimate est_res, est_str; /* AUTO: both */
  int skip; /* 1 when its device is unusable (already an error) */
} plan_item;

struct wh_plan {
  wh_config *cfg;
  plan_item *items;
  size_t n_items;
  wh_device **new_devices; /* created by prepare, not yet in rt */
  size_t n_new_devices;
  wh_pipe_facts facts; /* the new pipeline's wiring */
};

/* ---- helpers
 * ------------------------------------------------------------------- */

static int key_line(int specific, const wh_cfg_component *cc) {
  return specific ? specific : cc->line;
}

/* A plugin's message about one of its keys ("unknown key 'colour'") is
 * reported at that key's line, one naming the weights path at `weights`;
 * anything else at the section header. */
static int plugin_error_line(const wh_cfg_component *cc, const char *msg) {
  /* A message about the weights (a missing file) points at their key. */
  if (cc->weights && cc->weights_line && strstr(msg, cc->weights))
    return cc->weights_line;
  for (size_t i = 0; i < cc->n_all; i++) {
    char quoted[128];
    snprintf(quoted, sizeof quoted, "'%s'", cc->all[i].key);
    if (strstr(msg, quoted)) return cc->all[i].line;
  }
  return cc->line;
}

static int same_str(const char *a, const char *b) {
  return (!a && !b) || (a && b && !strcmp(a, b));
}

/* True when the two sections need no new instance (plugin file compared by
 * the registry reference). */
static int same_instance_config(const wh_cfg_component *a,
                                const wh_cfg_component *b) {
  if (!same_str(a->weights, b->weights) ||
      !same_str(a->device_name, b->device_name) || a->dtype != b->dtype ||
      a->n_plugin_keys != b->n_plugin_keys)
    return 0;
  for (size_t i = 0; i < a->n_plugin_keys; i++)
    if (strcmp(a->plugin_keys[i].key, b->plugin_keys[i].key) ||
        strcmp(a->plugin_keys[i].value, b->plugin_keys[i].value))
      return 0;
  return 1;
}

static wh_component *find_running(wh_runtime *rt, const char *name) {
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, name)) return rt->components[i];
  return NULL;
}

typedef struct est_op {
  wh_component *c;
  const wh_config *cfg;
  warm_placement p;
  uint32_t window;
  warm_stream_source src;
  warm_estimate out;
  warm_error err;
} est_op;

static int est_run(void *arg) {
  est_op *o = arg;
  return wh_component_estimate(o->c, o->cfg, o->p, o->window, o->src, &o->out,
                               &o->err);
}

/* estimate() of a running instance goes through its executor, so it never
 * overlaps a run; a fresh instance is ours alone. */
static int estimate(wh_runtime *rt, wh_component *c, int running,
                    const wh_config *cfg, warm_placement p,
                    const wh_cfg_component *cc, warm_estimate *out,
                    warm_error *err) {
  est_op o = {c, cfg, p, cc->stream_window, cc->stream_source, {0}, {0}};
  int rc = (running && rt->live) ? wh_executor_call(c->dev->exec, est_run, &o)
                                 : est_run(&o);
  *out = o.out;
  if (rc) *err = o.err;
  return rc;
}

static wh_device *plan_device(wh_runtime *rt, wh_plan *pl, const char *name) {
  wh_device *d = wh_runtime_device(rt, name);
  if (d) return d;
  for (size_t i = 0; i < pl->n_new_devices; i++)
    if (!strcmp(pl->new_devices[i]->name, name)) return pl->new_devices[i];
  return NULL;
}

/* ---- prepare
 * -------------------------------------------------------------------- */

static void check_host_keys(wh_runtime *rt, wh_config *cfg) {
  const wh_config *old = rt->config;
  if (!old) return;
  if (!same_str(old->admin_socket, cfg->admin_socket))
    wh_config_error(cfg, cfg->admin_socket_line,
                    "admin_socket cannot change on reload (restart warmd)");
  if (old->admin_socket_mode != cfg->admin_socket_mode)
    wh_config_error(cfg, cfg->admin_socket_mode_line,
                    "admin_socket_mode cannot change on reload (restart "
                    "warmd)");
  if (old->stats_socket_mode != cfg->stats_socket_mode)
    wh_config_error(cfg, cfg->stats_socket_mode_line,
                    "stats_socket_mode cannot change on reload (restart "
                    "warmd)");
  if (!same_str(old->stats_socket, cfg->stats_socket))
    wh_config_error(cfg, cfg->stats_socket_line,
                    "stats_socket cannot change on reload (restart warmd)");
}

/* A cuda device without `budget` gets its capacity minus `reserve`, read
 * from the device itself. */
static void resolve_cuda_budget(wh_config *cfg, wh_cfg_device *cd,
                                wh_device *d) {
  size_t free_b = 0, total = 0;
  if (cd->budget_set || cd->dev.type != WARM_DEVICE_CUDA || !d->wk) return;
  if (wk_dev_mem_info(d->wk, &free_b, &total) != 0) {
    wh_config_error(cfg, cd->line, "%s: cannot read the device's capacity: %s",
                    cd->name, wk_last_error(d->wk));
    return;
  }
  if (cd->reserve >= total) {
    wh_config_error(cfg, cd->reserve_line ? cd->reserve_line : cd->line,
                    "%s: reserve %llu is not below the device's %llu bytes",
                    cd->name, (unsigned long long)cd->reserve,
                    (unsigned long long)total);
    return;
  }
  cd->budget = total - cd->reserve;
}

/* A budget larger than the memory behind it is allowed (overcommit is the
 * operator's call) but said: the ledger would promise what is not there. */
static void warn_budget(wh_config *cfg, const wh_cfg_device *cd,
                        const wh_device *d) {
  uint64_t have = 0;
  size_t free_b = 0, total = 0;
  if (cd->dev.type == WARM_DEVICE_CPU)
    have = wh_physical_ram();
  else if (d->wk && wk_dev_mem_info(d->wk, &free_b, &total) == 0)
    have = total;
  if (!cd->budget_set || !have || cd->budget <= have) return;
  char b[32], h[32];
  wh_warn("%s:%d: device %s: budget %s is more than the %s this machine "
          "has",
          cfg->path, cd->budget_line ? cd->budget_line : cd->line, cd->name,
          warm_format_size(cd->budget, b, sizeof b),
          warm_format_size(have, h, sizeof h));
}

static void prepare_devices(wh_runtime *rt, wh_config *cfg, wh_plan *pl) {
  for (size_t i = 0; i < cfg->n_devices; i++) {
    wh_cfg_device *cd = &cfg->devices[i];
    wh_device *running = wh_runtime_device(rt, cd->name);
    if (running) {
      resolve_cuda_budget(cfg, cd, running);
      continue;
    }
    warm_error e = {0};
    wh_device *d = NULL;
    if (!cd->name) continue;
    if (rt->plan_only) { /* warmd --plan never opens a device */
      if (wh_device_create_paper(cd, &d, &e)) {
        wh_config_error(cfg, cd->line, "%s", e.msg);
        continue;
      }
    } else if (wh_device_create(cd, rt->live, &d, &e)) {
      /* A component's device key gets the message (implicit devices carry
       * its line); a declared section gets it at its header. */
      wh_config_error(cfg, cd->line, "%s", e.msg);
      /* warmd -t goes on without the device: its components are still
       * opened, validated, created and estimated. */
      if (!rt->check_only || wh_device_create_paper(cd, &d, &e)) continue;
    }
    wh_device **nd =
        realloc(pl->new_devices, (pl->n_new_devices + 1) * sizeof *nd);
    if (!nd) {
      wh_device_destroy(d);
      wh_config_error(cfg, 0, "out of memory");
      continue;
    }
    pl->new_devices = nd;
    pl->new_devices[pl->n_new_devices++] = d;
    resolve_cuda_budget(cfg, cd, d);
    if (!cd->budget_set && cd->budget)
      warm_ledger_set_budget(d->ledger, cd->budget, NULL);
    warn_budget(cfg, cd, d);
  }
}

/* Checks one component section against its plugin and builds its item. */
static void prepare_component(wh_runtime *rt, wh_config *cfg, wh_plan *pl,
                              const wh_cfg_component *cc, plan_item *it) {
  it->cc = cc;
  if (!cc->name || !cc->device_name) { /* already an error at parse */
    it->skip = 1;
    return;
  }
  it->dev = plan_device(rt, pl, cc->device_name);
  if (!it->dev) {
    /* The device failed above; say so at this component's device key too
     * when the device came from a declared section. */
    const wh_cfg_device *cd = wh_config_device(cfg, cc->device_name);
    int n = cc->device.type == WARM_DEVICE_CUDA ? wh_cuda_devices() : 0;
    if (cd && !cd->implicit && cc->device_line) {
      if (cc->device.type == WARM_DEVICE_CUDA && cc->device.index >= n)
        wh_config_error(cfg, cc->device_line,
                        "%s: no CUDA device (this machine has %d)",
                        cc->device_name, n);
      else
        wh_config_error(cfg, cc->device_line,
                        "device %s is not usable (see line %d)",
                        cc->device_name, cd->line);
    }
    it->skip = 1;
    return;
  }
  if (!cc->plugin) {
    it->skip = 1;
    return;
  }
  warm_error e = {0};
  wh_plugin_ref *ref = NULL;
  if (wh_registry_open(rt->registry, cfg->plugin_dir, cc->plugin, &ref, &e)) {
    wh_config_error(cfg, key_line(cc->plugin_line, cc), "%s", e.msg);
    it->skip = 1;
    return;
  }
  const warm_plugin_desc *d = wh_plugin_desc(ref);
  int bad = 0;
  uint32_t devcap =
      cc->device.type == WARM_DEVICE_CUDA ? WARM_DEVCAP_CUDA : WARM_DEVCAP_CPU;
  if (!(d->devices & devcap)) {
    wh_config_error(cfg, key_line(cc->device_line, cc),
                    "plugin %s does not run on %s", d->name, cc->device_name);
    bad = 1;
  }
  if (!(d->placements & (uint32_t)cc->placement) ||
      (cc->placement == WARM_PLACE_AUTO &&
       (d->placements & (WARM_PLACE_RESIDENT | WARM_PLACE_STREAM)) !=
           (WARM_PLACE_RESIDENT | WARM_PLACE_STREAM))) {
    wh_config_error(cfg, key_line(cc->placement_line, cc),
                    "plugin %s does not support placement %s", d->name,
                    warm_placement_name(cc->placement));
    bad = 1;
  }
  if (!(d->dtypes & warm_dtype_cap(cc->dtype))) {
    wh_config_error(cfg, key_line(cc->dtype_line, cc),
                    "plugin %s does not support dtype %s", d->name,
                    warm_dtype_name(cc->dtype));
    bad = 1;
  }
  if (bad) {
    wh_registry_release(rt->registry, ref);
    it->skip = 1;
    return;
  }

  wh_component *old = find_running(rt, cc->name);
  it->old = old;
  if (old && old->plugin == ref && same_instance_config(old->cc, cc)) {
    int same_place = old->placement == cc->placement &&
                     old->stream_window == cc->stream_window &&
                     old->stream_source == cc->stream_source;
    /* A component whose place() failed is retried; a plugin without live
     * placement needs a new instance to move. */
    pthread_mutex_lock(&rt->lock);
    int serving = old->state == WH_COMP_PLACED;
    pthread_mutex_unlock(&rt->lock);
    /* A faulted instance is never placed again: it gets a new one. */
    int broken = __atomic_load_n(&old->broken, __ATOMIC_ACQUIRE);
    if (!broken &&
        ((same_place && serving) || (d->flags & WARM_FLAG_LIVE_PLACEMENT))) {
      wh_registry_release(rt->registry, ref); /* old holds its own */
      it->action = same_place && serving ? IT_KEEP : IT_REPLACE_PLACEMENT;
      return;
    }
  }
  it->action = old ? IT_REPLACE : IT_ADD;
  /* wh_component_create owns ref from here, failure included. */
  if (wh_component_create(rt, cfg, cc, ref, it->dev, &it->fresh, &e)) {
    wh_config_error(cfg, plugin_error_line(cc, e.msg), "%s", e.msg);
    it->skip = 1;
  }
}

static wh_component *item_instance(const plan_item *it) {
  return it->fresh ? it->fresh : it->old;
}

/* Estimates each item in its placement; AUTO items get both estimates and
 * are resolved per device in priority order (higher first): resident when
 * its persistent bytes still fit beside those already counted. */
static void prepare_estimates(wh_runtime *rt, wh_config *cfg, wh_plan *pl) {
  for (size_t i = 0; i < pl->n_items; i++) {
    plan_item *it = &pl->items[i];
    if (it->skip || it->action == IT_REMOVE) continue;
    wh_component *c = item_instance(it);
    int running = it->fresh == NULL;
    warm_error e = {0};
    const wh_cfg_component *cc = it->cc;
    if (cc->placement == WARM_PLACE_AUTO) {
      if (estimate(rt, c, running, cfg, WARM_PLACE_RESIDENT, cc, &it->est_res,
                   &e) ||
          estimate(rt, c, running, cfg, WARM_PLACE_STREAM, cc, &it->est_str,
                   &e)) {
        wh_config_error(cfg, plugin_error_line(cc, e.msg), "%s", e.msg);
        it->skip = 1;
      }
    } else {
      it->concrete = cc->placement;
      if (estimate(rt, c, running, cfg, cc->placement, cc, &it->est, &e)) {
        wh_config_error(cfg, plugin_error_line(cc, e.msg), "%s", e.msg);
        it->skip = 1;
      }
    }
  }
  for (size_t di = 0; di < cfg->n_devices; di++) {
    const wh_cfg_device *cd = &cfg->devices[di];
    uint64_t fixed = 0;
    if (!cd->name) continue;
    for (size_t i = 0; i < pl->n_items; i++) {
      plan_item *it = &pl->items[i];
      if (it->skip || it->action == IT_REMOVE ||
          strcmp(it->cc->device_name, cd->name) ||
          it->cc->placement == WARM_PLACE_AUTO)
        continue;
      fixed += it->est.persistent + it->est.window;
    }
    /* AUTO items by descending priority, then file order. */
    for (;;) {
      plan_item *best = NULL;
      for (size_t i = 0; i < pl->n_items; i++) {
        plan_item *it = &pl->items[i];
        if (it->skip || it->action == IT_REMOVE || it->concrete ||
            it->cc->placement != WARM_PLACE_AUTO ||
            strcmp(it->cc->device_name, cd->name))
          continue;
        if (!best || it->cc->priority > best->cc->priority) best = it;
      }
      if (!best) break;
      uint64_t res = best->est_res.persistent + best->est_res.window;
      if (fixed + res <= cd->budget) {
        best->concrete = WARM_PLACE_RESIDENT;
        best->est = best->est_res;
      } else {
        best->concrete = WARM_PLACE_STREAM;
        best->est = best->est_str;
      }
      fixed += best->est.persistent + best->est.window;
      /* A running `auto` component resident now but streamed by this plan
       * is demoted by the commit before the budget applies, so a lower
       * budget never finds it in the way. */
      if (best->action == IT_KEEP && best->concrete == WARM_PLACE_STREAM) {
        pthread_mutex_lock(&rt->lock);
        int resident = best->old->active == WARM_PLACE_RESIDENT &&
                       best->old->state == WH_COMP_PLACED;
        pthread_mutex_unlock(&rt->lock);
        const warm_plugin_desc *d = wh_plugin_desc(best->old->plugin);
        if (resident && (d->flags & WARM_FLAG_LIVE_PLACEMENT))
          best->action = IT_REPLACE_PLACEMENT;
      }
    }
    /* A cuda device checked on paper has no capacity to default to. */
    wh_device *d = plan_device(rt, pl, cd->name);
    if (!cd->budget_set && cd->dev.type == WARM_DEVICE_CUDA && d && !d->wk) {
      wh_warn("%s:%d: device %s: budget not checked (no device here to read "
              "its capacity from)",
              cfg->path, cd->line, cd->name);
      continue;
    }
    /* warmd --plan reports a load that cannot fit as its first step. */
    if (fixed > cd->budget && !rt->plan_only) {
      char need[32], bud[32];
      int line = cd->budget_line ? cd->budget_line : cd->line;
      wh_config_error(cfg, line,
                      "device %s: placed components need %s (%llu bytes), "
                      "budget %s (%llu bytes)",
                      cd->name, warm_format_size(fixed, need, sizeof need),
                      (unsigned long long)fixed,
                      warm_format_size(cd->budget, bud, sizeof bud),
                      (unsigned long long)cd->budget);
    }
  }
}

/* The instance the plan gives component `name`, or NULL. */
static wh_component *plan_instance(wh_plan *pl, const char *name) {
  for (size_t i = 0; name && i < pl->n_items; i++) {
    plan_item *it = &pl->items[i];
    if (!it->skip && it->action != IT_REMOVE && !strcmp(it->cc->name, name))
      return item_instance(it);
  }
  return NULL;
}

static void prepare_pipeline(wh_config *cfg, wh_plan *pl) {
  const wh_cfg_pipeline *p = &cfg->pipeline;
  snprintf(pl->facts.why, sizeof pl->facts.why, "no [pipeline] configured");
  if (!p->present) return;
  size_t errors = cfg->n_errors;
  struct role {
    const char *name;
    int line;
    warm_kind kind;
  } roles[WH_PIPELINE_MAX_STAGES + 4];
  size_t n = 0;
  if (p->encoder)
    roles[n++] =
        (struct role){p->encoder, p->encoder_line, WARM_KIND_TEXT_ENCODER};
  for (size_t i = 0; i < p->n_stages; i++)
    roles[n++] =
        (struct role){p->stages[i], p->stages_line, WARM_KIND_TRANSFORMER};
  if (p->decoder)
    roles[n++] = (struct role){p->decoder, p->decoder_line, WARM_KIND_VAE};
  if (p->upsampler)
    roles[n++] =
        (struct role){p->upsampler, p->upsampler_line, WARM_KIND_UPSAMPLER};
  if (p->audio_decoder)
    roles[n++] = (struct role){p->audio_decoder, p->audio_decoder_line,
                               WARM_KIND_AUDIO_DECODER};
  for (size_t r = 0; r < n; r++)
    for (size_t i = 0; i < pl->n_items; i++) {
      plan_item *it = &pl->items[i];
      if (it->skip || it->action == IT_REMOVE ||
          strcmp(it->cc->name, roles[r].name))
        continue;
      const warm_plugin_desc *d = wh_plugin_desc(item_instance(it)->plugin);
      if (d->kind != roles[r].kind)
        wh_config_error(cfg, roles[r].line,
                        "'%s' is a %s (plugin %s), this role needs %s %s",
                        roles[r].name, warm_kind_name(d->kind), d->name,
                        strchr("aeiou", warm_kind_name(roles[r].kind)[0]) ? "an"
                                                                          : "a",
                        warm_kind_name(roles[r].kind));
    }
  if (cfg->n_errors != errors) return;
  wh_wiring_roles wr = {
      .encoder = plan_instance(pl, p->encoder),
      .decoder = plan_instance(pl, p->decoder),
      .upsampler = plan_instance(pl, p->upsampler),
      .audio_decoder = plan_instance(pl, p->audio_decoder),
      .n_stages = p->n_stages,
  };
  for (size_t i = 0; i < p->n_stages; i++)
    wr.stages[i] = plan_instance(pl, p->stages[i]);
  if (wh_pipe_type_is_ltx2(p->type))
    wh_wiring_facts_ltx2(cfg, &wr, &pl->facts);
  else
    wh_wiring_facts(cfg, wr.encoder, wr.stages, wr.n_stages, wr.decoder,
                    &pl->facts);
  wh_wiring_check_defaults(cfg, &pl->facts);
}

int wh_reload_prepare(wh_runtime *rt, wh_config *cfg, wh_plan **out) {
  *out = NULL;
  if (cfg->n_errors && !rt->check_only) return WARM_EINVAL;
  wh_plan *pl = calloc(1, sizeof *pl);
  size_t cap = cfg->n_components + rt->n_components + 1;
  if (!pl || !(pl->items = calloc(cap, sizeof *pl->items))) {
    free(pl);
    wh_config_error(cfg, 0, "out of memory");
    return WARM_ENOMEM;
  }
  pl->cfg = wh_config_ref(cfg);
  check_host_keys(rt, cfg);
  prepare_devices(rt, cfg, pl);
  for (size_t i = 0; i < cfg->n_components; i++)
    prepare_component(rt, cfg, pl, &cfg->components[i],
                      &pl->items[pl->n_items++]);
  for (size_t i = 0; i < rt->n_components; i++)
    if (!wh_config_component(cfg, rt->components[i]->name)) {
      plan_item *it = &pl->items[pl->n_items++];
      it->action = IT_REMOVE;
      it->old = rt->components[i];
      it->dev = it->old->dev;
    }
  /* Every item that could be checked so far is checked further: one run
   * of warmd -t reports everything it can find. */
  prepare_estimates(rt, cfg, pl);
  prepare_pipeline(cfg, pl);
  if (cfg->n_errors) {
    wh_config_sort_errors(cfg);
    wh_plan_free(rt, pl);
    return WARM_EINVAL;
  }
  *out = pl;
  return 0;
}

int wh_plan_component(const wh_plan *pl, const char *name, wh_component **c,
                      warm_placement *concrete) {
  for (size_t i = 0; name && i < pl->n_items; i++) {
    const plan_item *it = &pl->items[i];
    if (it->skip || it->action == IT_REMOVE || strcmp(it->cc->name, name))
      continue;
    *c = item_instance(it);
    *concrete = it->concrete;
    return 0;
  }
  return WARM_EINVAL;
}

const wh_pipe_facts *wh_plan_facts(const wh_plan *pl) {
  return &pl->facts;
}

void wh_plan_free(wh_runtime *rt, wh_plan *pl) {
  if (!pl) return;
  for (size_t i = 0; i < pl->n_items; i++)
    wh_component_destroy(rt, pl->items[i].fresh);
  for (size_t i = 0; i < pl->n_new_devices; i++)
    wh_device_destroy(pl->new_devices[i]);
  free(pl->new_devices);
  free(pl->items);
  wh_config_free(pl->cfg);
  free(pl);
}

/* ---- commit
 * --------------------------------------------------------------------- */

static int commit(wh_runtime *rt, wh_plan *pl, char *summary,
                  size_t summary_len, warm_error *err);

typedef struct place_op {
  wh_runtime *rt;
  wh_component *c;
  warm_placement p;
  uint32_t window;
  warm_stream_source src;
  warm_error err;
} place_op;

static int place_run(void *arg) {
  place_op *o = arg;
  return wh_component_place(o->rt, o->c, o->p, o->window, o->src, &o->err);
}

static int do_place(wh_runtime *rt, wh_component *c, warm_placement p,
                    uint32_t window, warm_stream_source src, warm_error *err) {
  place_op o = {rt, c, p, window, src, {0}};
  int rc =
      rt->live ? wh_executor_call(c->dev->exec, place_run, &o) : place_run(&o);
  if (rc && err) *err = o.err;
  return rc;
}

/* Destroys on the device executor so it follows any queued work. */
static void do_destroy(wh_runtime *rt, wh_component *c) {
  if (rt->live) wh_component_destroy_ordered(rt, c);
  else wh_component_destroy(rt, c);
}

static void remove_from_rt(wh_runtime *rt, wh_component *c) {
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components; i++)
    if (rt->components[i] == c) {
      memmove(&rt->components[i], &rt->components[i + 1],
              (rt->n_components - i - 1) * sizeof *rt->components);
      rt->n_components--;
      break;
    }
  pthread_mutex_unlock(&rt->lock);
}

/* The names of one kind of change, for the reply: " (a, b)". Past the
 * buffer the list ends in ", ...". */
typedef struct name_list {
  char s[400];
  size_t len;
  int full;
} name_list;

static void name_add(name_list *l, const char *name) {
  size_t need = strlen(name) + 2;
  if (l->full || l->len + need + 8 > sizeof l->s) {
    l->full = 1;
    return;
  }
  l->len += (size_t)snprintf(l->s + l->len, sizeof l->s - l->len, "%s%s",
                             l->len ? ", " : " (", name);
}

static const char *name_end(name_list *l) {
  if (l->len)
    snprintf(l->s + l->len, sizeof l->s - l->len, "%s)",
             l->full ? ", ..." : "");
  return l->s;
}

static void note_failure(warm_error *first, const warm_error *e, int *rc) {
  wh_log(WARM_LOG_ERROR, "reload", "%s", e->msg);
  if (!*rc) {
    *first = *e;
    *rc = e->code ? e->code : WARM_EINTERNAL;
  }
}

int wh_reload_commit(wh_runtime *rt, wh_plan *pl, char *summary,
                     size_t summary_len, warm_error *err) {
  pthread_rwlock_wrlock(&rt->commit_lock);
  int rc = commit(rt, pl, summary, summary_len, err);
  pthread_rwlock_unlock(&rt->commit_lock);
  return rc;
}

static int commit(wh_runtime *rt, wh_plan *pl, char *summary,
                  size_t summary_len, warm_error *err) {
  int rc = 0;
  warm_error first = {0};
  unsigned n_add = 0, n_rep = 0, n_place = 0, n_rem = 0, n_keep = 0;
  name_list l_add = {0}, l_rep = {0}, l_place = {0}, l_rem = {0};
  wh_config *cfg = pl->cfg;

  /* 1. New devices join; old instances that go away leave first, so their
   *    bytes are free before anything new is placed. */
  pthread_mutex_lock(&rt->lock);
  wh_device **nd =
      realloc(rt->devices,
              (rt->n_devices + pl->n_new_devices) * sizeof *nd + sizeof *nd);
  if (nd) {
    rt->devices = nd;
    for (size_t i = 0; i < pl->n_new_devices; i++)
      rt->devices[rt->n_devices++] = pl->new_devices[i];
    pl->n_new_devices = 0;
  }
  pthread_mutex_unlock(&rt->lock);
  if (!nd) {
    wh_plan_free(rt, pl);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < pl->n_items; i++) {
    plan_item *it = &pl->items[i];
    if (it->action != IT_REMOVE && it->action != IT_REPLACE) continue;
    name_add(it->action == IT_REMOVE ? &l_rem : &l_rep, it->old->name);
    remove_from_rt(rt, it->old);
    do_destroy(rt, it->old);
    it->old = NULL;
    if (it->action == IT_REMOVE)
      n_rem++;
    else
      n_rep++;
  }
  /* 2. Live placement changes: demotions (freeing bytes) first, then the
   *    budgets (a lower one finds the demoted bytes gone), then
   *    promotions. 3. New instances. */
  for (int pass = 0; pass < 3; pass++) {
    if (pass == 1) {
      warm_error he = {0};
      uint64_t hb = cfg->memory_budget ? cfg->memory_budget : wh_physical_ram();
      if (warm_ledger_set_budget(rt->host->ledger, hb, &he))
        note_failure(&first, &he, &rc);
    }
    if (pass == 1)
      for (size_t i = 0; i < cfg->n_devices; i++) {
        wh_device *d = wh_runtime_device(rt, cfg->devices[i].name);
        warm_error e = {0};
        if (d && warm_ledger_set_budget(d->ledger, cfg->devices[i].budget, &e))
          note_failure(&first, &e, &rc);
      }
    for (size_t i = 0; i < pl->n_items; i++) {
      plan_item *it = &pl->items[i];
      warm_error e = {0};
      if (it->action == IT_KEEP && pass == 0) {
        pthread_mutex_lock(&rt->lock);
        it->old->priority = it->cc->priority;
        pthread_mutex_unlock(&rt->lock);
        n_keep++;
      } else if (it->action == IT_REPLACE_PLACEMENT &&
                 (pass == 0) == (it->concrete == WARM_PLACE_STREAM) &&
                 pass < 2) {
        if (do_place(rt, it->old, it->concrete, it->cc->stream_window,
                     it->cc->stream_source, &e))
          note_failure(&first, &e, &rc);
        pthread_mutex_lock(&rt->lock);
        it->old->placement = it->cc->placement;
        it->old->priority = it->cc->priority;
        pthread_mutex_unlock(&rt->lock);
        n_place++;
        name_add(&l_place, it->cc->name);
      } else if (it->fresh && pass == 2) {
        if (do_place(rt, it->fresh, it->concrete, it->cc->stream_window,
                     it->cc->stream_source, &e))
          note_failure(&first, &e, &rc);
        if (it->action == IT_ADD) {
          n_add++;
          name_add(&l_add, it->cc->name);
        }
      }
    }
  }
  /* 5. The component list in file order, and the new running config. */
  pthread_mutex_lock(&rt->lock);
  wh_component **list = calloc(cfg->n_components + 1, sizeof *list);
  if (list) {
    size_t n = 0;
    for (size_t i = 0; i < pl->n_items; i++) {
      plan_item *it = &pl->items[i];
      if (it->action == IT_REMOVE || it->skip) continue;
      list[n++] = item_instance(it);
      it->fresh = NULL; /* owned by rt now */
    }
    free(rt->components);
    rt->components = list;
    rt->n_components = n;
    wh_config_free(rt->config);
    rt->config = wh_config_ref(cfg);
    rt->facts = pl->facts;
  }
  pthread_mutex_unlock(&rt->lock);
  if (!list)
    note_failure(&first, &(warm_error){WARM_ENOMEM, "out of memory"}, &rc);
  snprintf(summary, summary_len,
           "%u added%s, %u replaced%s, %u re-placed%s, %u removed%s, %u "
           "unchanged",
           n_add, name_end(&l_add), n_rep, name_end(&l_rep), n_place,
           name_end(&l_place), n_rem, name_end(&l_rem), n_keep);
  wh_plan_free(rt, pl);
  if (rc && err) *err = first;
  return rc;
}
