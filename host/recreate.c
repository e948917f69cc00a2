/*
 * host/recreate.c — live placement for a plugin without
 * WARM_FLAG_LIVE_PLACEMENT (see reload.h): the host makes a new instance
 * and places that one, as the plugin guide promises.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "reload.h"

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
    return warm_error_set(&o->err, WARM_ENOSPACE,
                          "%s: resident needs %llu bytes, %s has %llu free",
                          o->old->name, (unsigned long long)need,
                          o->old->dev->name, (unsigned long long)room);
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
