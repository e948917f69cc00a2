/*
 * host/embcache.h — the embedding cache: text-encoder outputs kept in host
 * memory under (fingerprint, prompt, max_tokens), least recently used evicted
 * first, bounded by `[cache] embeddings = SIZE`.
 *
 * The fingerprint names the weights + dtype + plugin, not the placement, so
 * entries survive placement changes; a swap or weights change drops the old
 * fingerprint's entries (wh_embcache_drop). Thread-safe.
 */
#ifndef WH_EMBCACHE_H
#define WH_EMBCACHE_H

#include <stdint.h>

#include "warm/warm.h"

typedef struct wh_embcache wh_embcache;

typedef struct wh_embcache_stats {
  uint64_t budget, bytes;
  uint64_t entries;
  uint64_t hits, misses, inserts, evictions;
} wh_embcache_stats;

/* budget 0 disables caching (every lookup misses, nothing is kept). */
int wh_embcache_create(uint64_t budget, wh_embcache **out);
void wh_embcache_destroy(wh_embcache *c);

/* Shrinking evicts until the cache fits. */
void wh_embcache_set_budget(wh_embcache *c, uint64_t budget);

/* On a hit, fills out[0..*n) with fresh copies the caller owns (free each
 * with warm_tensor_free) and returns 1; 0 on a miss; negative on error. */
int wh_embcache_get(wh_embcache *c, const char *fingerprint,
                    const char *prompt, uint32_t max_tokens,
                    warm_tensor *out, uint32_t *n);

/* Copies n tensors in under the key, replacing an older entry. An entry
 * larger than the whole budget is not kept (returns 0 all the same). */
int wh_embcache_put(wh_embcache *c, const char *fingerprint,
                    const char *prompt, uint32_t max_tokens,
                    const warm_tensor *t, uint32_t n);

/* Drops every entry of a fingerprint; returns how many. */
uint64_t wh_embcache_drop(wh_embcache *c, const char *fingerprint);
void wh_embcache_clear(wh_embcache *c);
void wh_embcache_stats_get(wh_embcache *c, wh_embcache_stats *out);

#endif /* WH_EMBCACHE_H */
