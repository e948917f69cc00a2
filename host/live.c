/*
 * host/live.c — live settings (admin `set component NAME placement|
 * stream_window VALUE`, see reload.h): place() on the running instance, or,
 * for a plugin without WARM_FLAG_LIVE_PLACEMENT, a new instance placed in
 * its stead, as the plugin guide promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reload.h"

/* ERR 507's message: what does not fit, in human units and exact bytes. */
static int no_room(warm_error *err, const wh_component *c, const char *what,
                   uint64_t need, uint64_t room) {
  char hn[32], hr[32];
  return warm_error_set(err, WARM_ENOSPACE,
                        "%s: %s needs %s (%llu bytes), %s has %s (%llu "
                        "bytes) free",
                        c->name, what, warm_format_size(need, hn, sizeof hn),
                        (unsigned long long)need, c->dev->name,
                        warm_format_size(room, hr, sizeof hr),
                        (unsigned long long)room);
}

static wh_component *find_running(wh_runtime *rt, const char *name) {
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, name)) return rt->components[i];
  return NULL;
}

/* ---- re-creation --------------------------------------------------------- */

typedef struct rc_op {
  wh_runtime *rt;
  wh_component *old, *fresh;
  warm_placement want, concrete;
  warm_placement old_active; /* the fallback if the new placement fails */
  uint32_t window, old_window;
  uint64_t before, after;
  warm_error err;
} rc_op;

/* On the device executor: resolves the placement against the room the old
 * instance will leave, or refuses before anything changed. */
static int rc_plan(void *arg) {
  rc_op *o = arg;
  uint64_t p, w, ws;
  wh_component_bytes(o->old, &p, &w, &ws);
  o->before = p + w;
  uint64_t room = warm_ledger_available(o->old->dev->ledger) + p + w;
  o->concrete = o->want;
  if (o->want == WARM_PLACE_STREAM) return 0;
  warm_estimate est;
  int rc = wh_component_estimate(o->fresh, o->fresh->cfg, WARM_PLACE_RESIDENT,
                                 o->window, o->fresh->stream_source, &est,
                                 &o->err);
  if (rc) return rc;
  uint64_t need = est.persistent + est.window;
  if (o->want == WARM_PLACE_AUTO)
    o->concrete = need <= room ? WARM_PLACE_RESIDENT : WARM_PLACE_STREAM;
  else if (need > room)
    return no_room(&o->err, o->old, "resident", need, room);
  return 0;
}

/* On the device executor, after the old instance is gone: places the new
 * one, falling back to the placement the old one had. */
static int rc_place(void *arg) {
  rc_op *o = arg;
  wh_component *c = o->fresh;
  int rc = wh_component_place(o->rt, c, o->concrete, o->window,
                              c->stream_source, &o->err);
  if (rc && o->old_active && o->old_active != o->concrete) {
    warm_error e = {0};
    if (wh_component_place(o->rt, c, o->old_active, o->old_window,
                           c->stream_source, &e) == 0)
      wh_warn("%s: kept %s: %s", c->name, warm_placement_name(o->old_active),
              o->err.msg);
  }
  uint64_t p, w, ws;
  wh_component_bytes(c, &p, &w, &ws);
  o->after = p + w;
  return rc;
}

static int on_exec(wh_runtime *rt, wh_component *c, int (*fn)(void *),
                   void *arg) {
  return rt->live && c->dev->exec ? wh_executor_call(c->dev->exec, fn, arg)
                                  : fn(arg);
}

int wh_runtime_recreate(wh_runtime *rt, wh_component *c, warm_placement want,
                        uint32_t window, warm_placement *concrete,
                        uint64_t *before, uint64_t *after, warm_error *err) {
  wh_plugin_ref *ref = NULL;
  int rc = wh_registry_open(rt->registry, c->cfg->plugin_dir, c->cc->plugin,
                            &ref, err);
  if (rc) return rc;
  rc_op o = {.rt = rt, .old = c, .want = want, .window = window};
  /* wh_component_create owns ref from here, failure included. */
  if ((rc = wh_component_create(rt, c->cfg, c->cc, ref, c->dev, &o.fresh,
                                err)))
    return rc;
  o.fresh->stream_window = window;
  o.fresh->priority = c->priority;
  if ((rc = on_exec(rt, c, rc_plan, &o))) {
    wh_component_destroy(rt, o.fresh);
    if (err) *err = o.err;
    return rc;
  }
  /* The new instance takes the old one's place in the list before the old
   * one is destroyed, so no reader finds a freed component. */
  pthread_rwlock_wrlock(&rt->commit_lock);
  pthread_mutex_lock(&rt->lock);
  o.fresh->placement = want;
  for (size_t i = 0; i < rt->n_components; i++)
    if (rt->components[i] == c) rt->components[i] = o.fresh;
  pthread_mutex_unlock(&rt->lock);
  pthread_mutex_lock(&rt->lock);
  o.old_active = c->active;
  o.old_window = c->stream_window;
  pthread_mutex_unlock(&rt->lock);
  wh_component_destroy_ordered(rt, c);
  pthread_rwlock_unlock(&rt->commit_lock);
  o.old = NULL;
  rc = on_exec(rt, o.fresh, rc_place, &o);
  if (rc && err) *err = o.err;
  *concrete = o.concrete;
  *before = o.before;
  *after = o.after;
  return rc;
}

/* ---- place() on the running instance ------------------------------------ */

typedef struct set_op {
  wh_runtime *rt;
  wh_component *c;
  warm_placement want; /* as asked: may be AUTO */
  uint32_t window;
  warm_placement concrete;
  uint64_t before, after;
  warm_error err;
} set_op;

/* On the device executor: estimate, resolve AUTO against what the ledger
 * has left, refuse early when it cannot fit, then place(). */
static int set_run(void *arg) {
  set_op *o = arg;
  wh_component *c = o->c;
  uint64_t p, w, ws;
  wh_component_bytes(c, &p, &w, &ws);
  o->before = p + w;
  uint64_t room = warm_ledger_available(c->dev->ledger) + p + w;
  warm_estimate est;
  o->concrete = o->want;
  if (o->want == WARM_PLACE_AUTO || o->want == WARM_PLACE_RESIDENT) {
    int rc = wh_component_estimate(c, c->cfg, WARM_PLACE_RESIDENT, o->window,
                                   c->stream_source, &est, &o->err);
    if (rc) return rc;
    uint64_t need = est.persistent + est.window;
    if (o->want == WARM_PLACE_AUTO)
      o->concrete = need <= room ? WARM_PLACE_RESIDENT : WARM_PLACE_STREAM;
    else if (need > room)
      return no_room(&o->err, c, "resident", need, room);
  }
  /* A job of the [pipeline] defaults must still fit in what it picked
   * (window and workspace included), or later jobs would fail midway. */
  int rc = wh_component_estimate(c, c->cfg, o->concrete, o->window,
                                 c->stream_source, &est, &o->err);
  if (rc) return rc;
  uint64_t need = est.persistent + est.window + est.workspace;
  if (need > room)
  {
    char what[96];
    snprintf(what, sizeof what,
             "%s with stream_window %u and a job of the [pipeline] defaults",
             warm_placement_name(o->concrete), o->window);
    return no_room(&o->err, c, what, need, room);
  }
  rc = wh_component_place(o->rt, c, o->concrete, o->window, c->stream_source,
                          &o->err);
  wh_component_bytes(c, &p, &w, &ws);
  o->after = p + w;
  return rc;
}

int wh_runtime_set(wh_runtime *rt, const char *component, const char *key,
                   const char *value, char *reply, size_t reply_len,
                   warm_error *err) {
  pthread_mutex_lock(&rt->lock);
  wh_component *c = find_running(rt, component);
  set_op o = {.rt = rt, .c = c};
  if (c) {
    o.want = c->placement;
    o.window = c->stream_window;
  }
  int placed = c && c->state == WH_COMP_PLACED;
  pthread_mutex_unlock(&rt->lock);
  if (!c)
    return warm_error_set(err, WARM_EINVAL, "no component '%s'", component);
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  if (!strcmp(key, "placement")) {
    o.want = warm_placement_parse(value);
    if (!o.want)
      return warm_error_set(err, WARM_EINVAL,
                            "bad placement '%s' (resident, stream, auto)",
                            value);
    uint32_t both = WARM_PLACE_RESIDENT | WARM_PLACE_STREAM;
    if (!(d->placements & (uint32_t)o.want) ||
        (o.want == WARM_PLACE_AUTO && (d->placements & both) != both))
      return warm_error_set(err, WARM_EUNSUPPORTED,
                            "plugin %s does not support placement %s", d->name,
                            value);
  } else if (!strcmp(key, "stream_window")) {
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || *value == '-' || v < 1 || v > 1024)
      return warm_error_set(err, WARM_EINVAL,
                            "bad stream_window '%s' (an integer 1..1024)",
                            value);
    o.window = (uint32_t)v;
  } else {
    return warm_error_set(err, WARM_EINVAL,
                          "unknown setting '%s' (placement, stream_window)",
                          key);
  }
  int rc;
  if (placed && !(d->flags & WARM_FLAG_LIVE_PLACEMENT)) {
    /* The plugin cannot move a placed instance: a new one is made. */
    char name[128];
    snprintf(name, sizeof name, "%s", c->name);
    rc = wh_runtime_recreate(rt, c, o.want, o.window, &o.concrete, &o.before,
                             &o.after, err);
    if (rc) return rc;
    pthread_mutex_lock(&rt->lock);
    c = find_running(rt, name);
    pthread_mutex_unlock(&rt->lock);
    if (!c) return warm_error_set(err, WARM_EINTERNAL, "%s vanished", name);
  } else {
    rc = rt->live ? wh_executor_call(c->dev->exec, set_run, &o) : set_run(&o);
    if (rc) {
      if (err) *err = o.err;
      return rc;
    }
  }
  pthread_mutex_lock(&rt->lock);
  c->placement = o.want;
  pthread_mutex_unlock(&rt->lock);
  char b0[32], b1[32];
  snprintf(reply, reply_len,
           "%s: placement %s (%s), stream_window %u, %s "
           "bytes %s -> %s",
           c->name, warm_placement_name(o.want),
           warm_placement_name(o.concrete), o.window, c->dev->name,
           warm_format_size(o.before, b0, sizeof b0),
           warm_format_size(o.after, b1, sizeof b1));
  return 0;
}
