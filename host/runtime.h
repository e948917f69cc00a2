/*
 * host/runtime.h — what a running warmd holds: devices (each a ledger, an
 * executor thread and, for cuda, a wk context), component instances, the
 * plugin registry and the running config.
 *
 * Locking: rt->lock guards the device and component arrays, rt->config and
 * the mutable fields of components marked "under rt->lock". Plugin entry
 * points are never called with rt->lock held. Ledgers lock themselves.
 */
#ifndef WH_RUNTIME_H
#define WH_RUNTIME_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "executor.h"
#include "registry.h"
#include "warm/ledger.h"
#include "warm/warm.h"

typedef struct wk_ctx wk_ctx;

typedef struct wh_device {
  char *name;
  warm_device dev;
  warm_ledger *ledger;
  wh_executor *exec;
  wk_ctx *wk; /* cuda only: the context device memory comes from */
} wh_device;

typedef enum wh_comp_state {
  WH_COMP_CREATED = 0, /* instance exists, nothing on the device */
  WH_COMP_PLACED = 1,  /* serving */
  WH_COMP_FAILED = 2,  /* place failed; see last_error */
} wh_comp_state;

typedef struct wh_alloc {
  void *ptr;
  size_t bytes;
  int cls; /* warm_mem_class; 0 = pinned host memory */
} wh_alloc;

typedef struct wh_component {
  char *name;
  wh_config *cfg;             /* config it was created from (a reference) */
  const wh_cfg_component *cc; /* inside cfg */
  wh_plugin_ref *plugin;
  wh_device *dev;
  warm_instance *inst;
  warm_services svc;
  warm_component_config ccfg;
  /* Under rt->lock: */
  wh_comp_state state;
  warm_placement placement; /* configured (may be AUTO) */
  warm_placement active;    /* what place() last got: RESIDENT/STREAM */
  uint32_t stream_window;
  warm_stream_source stream_source;
  int32_t priority;
  char last_error[WARM_ERROR_MAX];
  /* Allocations made through the services table, under alloc_lock. */
  pthread_mutex_t alloc_lock;
  wh_alloc *allocs;
  size_t n_allocs, cap_allocs;
  uint64_t host_pinned;
  warm_ledger *host_ledger; /* the runtime's host ledger: pinned copies */
  int cancelled; /* atomic */
  float progress;
  /* Atomic: run() calls that failed in a row (not cancelled, not for
   * memory), and the last such error under rt->lock; /readyz reads them. */
  uint32_t run_failures;
  char run_error[WARM_ERROR_MAX];
  /* Atomic: a fault (SIGBUS on its mapped weights) left the instance in an
   * unknown state: it is never called again, and a reload or swap
   * replaces it with a new one. */
  int broken;
} wh_component;

/* The pipeline's wiring as the last commit found it (reload.c): what a
 * job is checked against at POST, so a commit in progress (a component
 * between its old and new instance) never refuses one. */
typedef struct wh_pipe_facts {
  int valid; /* a complete [pipeline] whose components agree */
  uint32_t latent_channels, temporal_compression, spatial_compression;
  uint32_t max_tokens; /* the encoder's padded prompt length */
  uint32_t embed_dim;  /* the encoder's output width */
  char why[WARM_ERROR_MAX]; /* when not valid */
} wh_pipe_facts;

typedef struct wh_runtime {
  pthread_mutex_t lock;
  wh_config *config; /* running config, NULL before the first load */
  wh_registry *registry;
  wh_device **devices;
  size_t n_devices;
  wh_component **components;
  size_t n_components;
  int live; /* executors are running: estimate/place go through them */
  wh_pipe_facts facts; /* under lock */
  /* Host memory outside every device ledger: the jobs' buffers (latents,
   * embeddings, plugin outputs, frames) under "jobs", and the components'
   * pinned host copies under their names. Budget [host] memory_budget. */
  wh_device *host;
  /* Written by a commit that replaces or removes components (reload,
   * swap, re-creation); read by whoever holds component pointers across
   * blocking calls outside the job thread (admission.c). */
  pthread_rwlock_t commit_lock;
  /* warmd -t: prepare checks everything it can, even past parse errors,
   * and a device that cannot open is checked on paper (ledger only). */
  int check_only;
  /* warmd --plan: every device is on paper and every instance is created
   * plan-only (WARM_SVC_PLAN_ONLY: no device opened, no weights read). */
  int plan_only;
} wh_runtime;

int wh_runtime_create(wh_runtime **out);
/* Destroys every component on its device's executor, then the devices. */
void wh_runtime_destroy(wh_runtime *rt);

/* ---- devices (device.c) ----------------------------------------------------
 */

/* Creates a device with its ledger and executor (when `with_executor`). For
 * cuda it needs a CUDA device: WARM_EDEVICE "no CUDA device" otherwise. */
int wh_device_create(const wh_cfg_device *cd, int with_executor,
                     wh_device **out, warm_error *err);
void wh_device_destroy(wh_device *d);
/* A device on paper for warmd -t: a ledger with cd's budget, no executor,
 * no device context. Plugins are created and estimated against it. */
int wh_device_create_paper(const wh_cfg_device *cd, wh_device **out,
                           warm_error *err);
wh_device *wh_runtime_device(wh_runtime *rt, const char *name);
/* Number of CUDA devices usable here. */
int wh_cuda_devices(void);

/* ---- components (component.c) ---------------------------------------------
 */

/* Opens nothing: takes a plugin reference (given over to the component, and
 * released on failure too), builds the services table, calls the plugin's
 * validate() when it has one, then create(). The component is unplaced.
 * Call on the loader thread (or before executors run). */
int wh_component_create(wh_runtime *rt, wh_config *cfg,
                        const wh_cfg_component *cc, wh_plugin_ref *plugin,
                        wh_device *dev, wh_component **out, warm_error *err);
/* Calls destroy(), frees what the plugin left allocated, releases its
 * ledger entry, its plugin and its config reference. */
void wh_component_destroy(wh_runtime *rt, wh_component *c);
/* The same, run on the component's device executor (blocking) so it follows
 * whatever work is still queued there; on the calling thread when there is
 * no executor or the caller is that executor. */
void wh_component_destroy_ordered(wh_runtime *rt, wh_component *c);

/* estimate() for a concrete placement with the job shape of cfg's pipeline
 * defaults. Runs on the calling thread. */
int wh_component_estimate(wh_component *c, const wh_config *cfg,
                          warm_placement p, uint32_t window,
                          warm_stream_source src, warm_estimate *out,
                          warm_error *err);
/* place() (on the calling thread: the device executor in a live runtime).
 * On success updates active placement and state; on failure the previous
 * placement still serves and last_error says why. */
int wh_component_place(wh_runtime *rt, wh_component *c, warm_placement p,
                       uint32_t window, warm_stream_source src,
                       warm_error *err);

/* Ledger bytes of a component by class (0s when nothing booked). */
void wh_component_bytes(const wh_component *c, uint64_t *persistent,
                        uint64_t *window, uint64_t *workspace);

const char *wh_comp_state_name(wh_comp_state s);

#endif /* WH_RUNTIME_H */
