/*
 * host/embcache.c — LRU embedding cache: a chained hash table for lookup and
 * a doubly linked list for recency, both over the same entries, one mutex.
 */
#include "embcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

typedef struct entry {
  char *fp, *prompt;
  uint32_t max_tokens;
  uint64_t hash, bytes;
  uint32_t n;
  warm_tensor t[WARM_MAX_IO];
  struct entry *next_in_bucket;
  struct entry *newer, *older;
} entry;

/* Tensor names, interned for the cache's lifetime so copies handed out can
 * point at them (warm_tensor names are never owned by the tensor). */
typedef struct name_node {
  struct name_node *next;
  char name[];
} name_node;

struct wh_embcache {
  pthread_mutex_t lock;
  name_node *names;
  entry *buckets[NBUCKETS];
  entry *newest, *oldest;
  wh_embcache_stats st;
};

/* FNV-1a over the three key parts, with separators. */
static uint64_t key_hash(const char *fp, const char *prompt, uint32_t mt) {
  uint64_t h = 1469598103934665603ull;
  for (const char *s = fp; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (const char *s = prompt; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  h = (h ^ 0xfe) * 1099511628211ull;
  for (int i = 0; i < 4; i++)
    h = (h ^ ((mt >> (8 * i)) & 0xff)) * 1099511628211ull;
  return h;
}

static entry *find(wh_embcache *c, uint64_t h, const char *fp,
                   const char *prompt, uint32_t mt) {
  for (entry *e = c->buckets[h % NBUCKETS]; e; e = e->next_in_bucket)
    if (e->hash == h && e->max_tokens == mt && !strcmp(e->fp, fp) &&
        !strcmp(e->prompt, prompt))
      return e;
  return NULL;
}

static void lru_unlink(wh_embcache *c, entry *e) {
  if (e->newer) e->newer->older = e->older;
  else c->newest = e->older;
  if (e->older) e->older->newer = e->newer;
  else c->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void lru_push_newest(wh_embcache *c, entry *e) {
  e->older = c->newest;
  e->newer = NULL;
  if (c->newest) c->newest->newer = e;
  c->newest = e;
  if (!c->oldest) c->oldest = e;
}

static void entry_free(entry *e) {
  for (uint32_t i = 0; i < e->n; i++) warm_tensor_free(&e->t[i]);
  free(e->fp);
  free(e->prompt);
  free(e);
}

/* Removes e from both structures and frees it. Caller holds the lock. */
static void remove_entry(wh_embcache *c, entry *e) {
  entry **pp = &c->buckets[e->hash % NBUCKETS];
  while (*pp != e) pp = &(*pp)->next_in_bucket;
  *pp = e->next_in_bucket;
  lru_unlink(c, e);
  c->st.bytes -= e->bytes;
  c->st.entries--;
  entry_free(e);
}

static void evict_to(wh_embcache *c, uint64_t limit) {
  while (c->oldest && c->st.bytes > limit) {
    remove_entry(c, c->oldest);
    c->st.evictions++;
  }
}

/* The interned copy of name (NULL stays NULL). Caller holds the lock or is
 * the only user. */
static const char *intern(wh_embcache *c, const char *name) {
  if (!name) return NULL;
  for (name_node *n = c->names; n; n = n->next)
    if (!strcmp(n->name, name)) return n->name;
  size_t len = strlen(name) + 1;
  name_node *n = malloc(sizeof *n + len);
  if (!n) return NULL;
  memcpy(n->name, name, len);
  n->next = c->names;
  c->names = n;
  return n->name;
}

/* Deep copy of a host tensor's data; the name is the caller's business. */
static int copy_tensor(warm_tensor *dst, const warm_tensor *src) {
  int rc = warm_tensor_alloc(dst, src->name, src->dtype, src->ndim,
                             src->shape);
  if (rc) return rc;
  memcpy(dst->data, src->data, warm_tensor_bytes(src));
  dst->scale = src->scale;
  return 0;
}

int wh_embcache_create(uint64_t budget, wh_embcache **out) {
  wh_embcache *c = calloc(1, sizeof *c);
  if (!c) return WARM_ENOMEM;
  pthread_mutex_init(&c->lock, NULL);
  c->st.budget = budget;
  *out = c;
  return 0;
}

void wh_embcache_destroy(wh_embcache *c) {
  if (!c) return;
  while (c->oldest) remove_entry(c, c->oldest);
  for (name_node *n = c->names, *next; n; n = next) {
    next = n->next;
    free(n);
  }
  pthread_mutex_destroy(&c->lock);
  free(c);
}

void wh_embcache_set_budget(wh_embcache *c, uint64_t budget) {
  pthread_mutex_lock(&c->lock);
  c->st.budget = budget;
  evict_to(c, budget);
  pthread_mutex_unlock(&c->lock);
}

int wh_embcache_get(wh_embcache *c, const char *fingerprint,
                    const char *prompt, uint32_t max_tokens,
                    warm_tensor *out, uint32_t *n) {
  uint64_t h = key_hash(fingerprint, prompt, max_tokens);
  pthread_mutex_lock(&c->lock);
  entry *e = find(c, h, fingerprint, prompt, max_tokens);
  if (!e) {
    c->st.misses++;
    pthread_mutex_unlock(&c->lock);
    return 0;
  }
  int rc = 0;
  uint32_t i = 0;
  for (; i < e->n && rc == 0; i++) rc = copy_tensor(&out[i], &e->t[i]);
  if (rc) {
    while (i-- > 0) warm_tensor_free(&out[i]);
    pthread_mutex_unlock(&c->lock);
    return rc;
  }
  *n = e->n;
  lru_unlink(c, e);
  lru_push_newest(c, e);
  c->st.hits++;
  pthread_mutex_unlock(&c->lock);
  return 1;
}

int wh_embcache_put(wh_embcache *c, const char *fingerprint,
                    const char *prompt, uint32_t max_tokens,
                    const warm_tensor *t, uint32_t n) {
  if (n == 0 || n > WARM_MAX_IO) return WARM_EINVAL;
  uint64_t bytes = strlen(fingerprint) + strlen(prompt) + sizeof(entry);
  for (uint32_t i = 0; i < n; i++) bytes += warm_tensor_bytes(&t[i]);
  pthread_mutex_lock(&c->lock);
  uint64_t budget = c->st.budget;
  pthread_mutex_unlock(&c->lock);
  if (bytes > budget) return 0;

  /* Copy outside the lock: prompts' embeddings can be tens of MB. */
  entry *e = calloc(1, sizeof *e);
  if (!e) return WARM_ENOMEM;
  e->fp = strdup(fingerprint);
  e->prompt = strdup(prompt);
  int rc = (e->fp && e->prompt) ? 0 : WARM_ENOMEM;
  for (uint32_t i = 0; i < n && rc == 0; i++, e->n++)
    rc = copy_tensor(&e->t[i], &t[i]);
  if (rc) {
    entry_free(e);
    return rc;
  }
  e->max_tokens = max_tokens;
  e->hash = key_hash(fingerprint, prompt, max_tokens);
  e->bytes = bytes;

  pthread_mutex_lock(&c->lock);
  for (uint32_t i = 0; i < e->n; i++) e->t[i].name = intern(c, t[i].name);
  entry *old = find(c, e->hash, fingerprint, prompt, max_tokens);
  if (old) remove_entry(c, old);
  if (bytes > c->st.budget) { /* the budget shrank meanwhile */
    pthread_mutex_unlock(&c->lock);
    entry_free(e);
    return 0;
  }
  evict_to(c, c->st.budget - bytes);
  e->next_in_bucket = c->buckets[e->hash % NBUCKETS];
  c->buckets[e->hash % NBUCKETS] = e;
  lru_push_newest(c, e);
  c->st.bytes += bytes;
  c->st.entries++;
  c->st.inserts++;
  pthread_mutex_unlock(&c->lock);
  return 0;
}

uint64_t wh_embcache_drop(wh_embcache *c, const char *fingerprint) {
  uint64_t dropped = 0;
  pthread_mutex_lock(&c->lock);
  for (entry *e = c->oldest, *next; e; e = next) {
    next = e->newer;
    if (!strcmp(e->fp, fingerprint)) {
      remove_entry(c, e);
      dropped++;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return dropped;
}

void wh_embcache_clear(wh_embcache *c) {
  pthread_mutex_lock(&c->lock);
  while (c->oldest) remove_entry(c, c->oldest);
  pthread_mutex_unlock(&c->lock);
}

void wh_embcache_stats_get(wh_embcache *c, wh_embcache_stats *out) {
  pthread_mutex_lock(&c->lock);
  *out = c->st;
  pthread_mutex_unlock(&c->lock);
}
