/*
 * host/status.h — the read-only JSON views of the running daemon that both
 * the admin socket (`show components json`, `show memory json`, `show cache
 * json`) and the HTTP status endpoint (GET /v1/status) serve, so the two
 * never disagree.
 */
#ifndef WH_STATUS_H
#define WH_STATUS_H

#include <jansson.h>

#include "embcache.h"
#include "runtime.h"

/* [{name, plugin, version, kind, device, placement, active_placement,
 *   dtype, state, stream_window, stream_source, priority, error}, ...]
 * Takes rt->lock; never calls a plugin. NULL when out of memory. */
json_t *wh_status_components(wh_runtime *rt);

/* [{name, budget, used, booked, peak, available,
 *   components: [{name, resident, window, workspace, reserved, peak}]}]
 * per device, from the ledgers. Takes rt->lock. */
json_t *wh_status_memory(wh_runtime *rt);

/* The host ledger (job buffers, pinned host copies) in the same form as one
 * device of wh_status_memory. Takes rt->lock. */
json_t *wh_status_host(wh_runtime *rt);

/* {budget, bytes, entries, hits, misses, inserts, evictions}; zeros when
 * cache is NULL. */
json_t *wh_status_cache(wh_embcache *cache);

#endif /* WH_STATUS_H */
