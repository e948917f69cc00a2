/*
 * host/reload.h — turning a wh_config into running components, the nginx
 * way: prepare builds and validates everything the new config needs (plugins
 * opened, ABI and capabilities checked, validate(), create() and estimate()
 * called, resident bytes summed against every budget) without touching what
 * runs; commit then applies only the differences. Used for the first load,
 * for reload (SIGHUP / admin) and for `warmd -t`.
 */
#ifndef WH_RELOAD_H
#define WH_RELOAD_H

#include <stddef.h>

#include "runtime.h"

typedef struct wh_plan wh_plan;

/* Validates cfg against rt. Returns 0 and a plan, or WARM_EINVAL with every
 * problem appended to cfg->errors as "FILE:LINE: message" (no plan then);
 * rt is unchanged either way. Blocking (dlopen, plugin create): call it on
 * the loader thread, or before the loop runs. */
int wh_reload_prepare(wh_runtime *rt, wh_config *cfg, wh_plan **out);

/* Applies the plan: removes, re-places, replaces and adds components (each
 * plugin call on its device's executor when rt->live), then makes cfg the
 * running config. Writes a one-line summary ("2 added, 1 re-placed, ...").
 * A failure here (a place() that the estimates did not predict) leaves the
 * component in state "failed", is returned, and the rest still applies.
 * Consumes the plan. */
int wh_reload_commit(wh_runtime *rt, wh_plan *plan, char *summary,
                     size_t summary_len, warm_error *err);

/* The instance a plan gives component `name` and the placement the load
 * resolves it to (an `auto` one: resident or stream, as the load decides);
 * WARM_EINVAL when the plan has no such component. */
int wh_plan_component(const wh_plan *pl, const char *name, wh_component **c,
                      warm_placement *concrete);
/* The wiring facts of the plan's [pipeline]. */
const wh_pipe_facts *wh_plan_facts(const wh_plan *pl);

/* Drops a plan without applying it (destroys what prepare created). */
void wh_plan_free(wh_runtime *rt, wh_plan *plan);

/* Changes one live component's placement settings as a control op on its
 * device executor (blocking the caller until done; not the executor's own
 * thread). value is parsed per key ("placement": resident|stream|auto,
 * "stream_window": 1..1024). Fails without changing anything on a bad
 * name/value, an unsupported placement, or a refusal by place(). */
int wh_runtime_set(wh_runtime *rt, const char *component, const char *key,
                   const char *value, char *reply, size_t reply_len,
                   warm_error *err);

/* Live placement for a plugin without WARM_FLAG_LIVE_PLACEMENT: a new
 * instance of c is created (loader thread), the placement resolved against
 * the room c leaves (refused, c untouched, when it cannot fit), c replaced
 * in the component list and destroyed, and the new instance placed (or, if
 * that fails, placed as c was). The caller keeps jobs from running
 * meanwhile (wh_jobs_hold): c is freed. */
int wh_runtime_recreate(wh_runtime *rt, wh_component *c, warm_placement want,
                        uint32_t window, warm_placement *concrete,
                        uint64_t *before, uint64_t *after, warm_error *err);

#endif /* WH_RELOAD_H */
