/*
 * warm-plugin-check internals: a services table backed by a real
 * warm_ledger (the same accounting warmd does), with allocation-failure
 * injection and a cancellation switch, and helpers that drive one plugin
 * instance through create / place / run / destroy.
 */
#ifndef WARM_CHK_H
#define WARM_CHK_H

#include <pthread.h>
#include <stdint.h>

#include "warm/ledger.h"
#include "warm/loader.h"
#include "warm/warm.h"

#define CHK_MAX_KEYS 64
#define CHK_MAX_INPUTS 16

/* What the command line said; shared by every check. */
typedef struct chk_opts {
  const char *plugin_path;
  const char *weights;
  warm_device device;
  warm_kv keys[CHK_MAX_KEYS];
  uint32_t n_keys;
  warm_job_shape shape;
  const char *prompt;
  /* --input NAME=AxBxC: f32 (i32 for "mask") host tensors, seeded values */
  uint32_t n_inputs;
  char input_names[CHK_MAX_INPUTS][32];
  int32_t input_ndim[CHK_MAX_INPUTS];
  int64_t input_shape[CHK_MAX_INPUTS][WARM_MAX_DIMS];
  unsigned seed;
  /* Two-modality token runs (ABI 1.2): perturb pass 1 of the batch (its
   * video self-attention in every block), exercising batched passes. */
  int perturb_pass1;
  int verbose;
  int no_fork;      /* run checks in this process (debugging) */
  double timeout_s; /* per check; a check still running is killed */
} chk_opts;

/* One device allocation handed to the plugin. */
typedef struct chk_alloc {
  void *ptr;
  size_t bytes;
  warm_mem_class cls;
  int pinned;
} chk_alloc;

/* The host side of one instance: its ledger, its services table and what
 * the plugin currently holds. */
typedef struct chk_host {
  warm_services svc;
  warm_ledger *ledger;
  const char *component;
  const chk_opts *opts;
  pthread_mutex_t mu;
  chk_alloc *allocs;
  uint32_t n_allocs, cap_allocs;
  uint64_t pinned_now, pinned_peak;
  uint32_t dev_alloc_calls; /* successful or not */
  int64_t fail_at;          /* dev_alloc call index that fails; -1 = none */
  int injected;             /* a failure was injected */
  int cancel;               /* what svc->cancelled returns */
  int bad_free;             /* dev_free/pinned_free of an unknown pointer */
  float last_progress;
  int bad_progress;
  void *wk;            /* wk_ctx for cuda devices, else NULL */
  const warm_kv *keys; /* what config_get answers from */
  uint32_t n_keys;
} chk_host;

int chk_host_init(chk_host *h, const chk_opts *o, const char *component,
                  warm_error *err);
/* Frees what the plugin left allocated (after recording it). */
void chk_host_fini(chk_host *h);
/* Bytes the plugin holds right now: device (all classes) and pinned. */
uint64_t chk_host_device_bytes(chk_host *h);

/* A live instance of the plugin under test. */
typedef struct chk_inst {
  const warm_plugin_desc *d;
  warm_kv keys[CHK_MAX_KEYS + 4];
  chk_host host;
  warm_component_config cfg;
  warm_instance *inst;
  warm_stream_source source; /* for STREAM places; pinned unless changed */
  warm_placement placed;     /* the last placement place() accepted */
} chk_inst;

/* create() with dtype (and extra keys appended to the command line's). */
int chk_create(chk_inst *ci, const warm_plugin_desc *d, const chk_opts *o,
               const char *component, warm_dtype dtype, const warm_kv *extra,
               uint32_t n_extra, warm_error *err);
/* destroy() (when created) and the host's teardown. */
void chk_destroy(chk_inst *ci);

warm_place_req chk_req(warm_placement p, warm_stream_source src);
int chk_estimate(chk_inst *ci, warm_placement p, warm_estimate *est,
                 warm_error *err);
int chk_place(chk_inst *ci, warm_placement p, warm_error *err);

/* The outputs of one run as one byte string (names, dtypes, shapes, data),
 * for comparing runs. Caller frees bytes. */
typedef struct chk_out {
  unsigned char *bytes;
  size_t n;
  char desc[256]; /* "embeddings f32 [32,64]; mask i32 [32]" */
  int nonfinite;  /* NaN/Inf count in float outputs */
} chk_out;

/* For a transformer or vae given no --input: when the plugin has info()
 * (ABI 1.1), builds small inputs from its model facts (and, for a vae, the
 * job shape from its compression factors where --shape left it zero).
 * Returns 1 and describes them in `what`, or 0 when it cannot. */
int chk_inputs_from_info(const warm_plugin_desc *d, chk_opts *o, char *what,
                         size_t n);

/* Whether this kind can be run with the inputs we have; if not, *why says. */
int chk_can_run(const warm_plugin_desc *d, const chk_opts *o, const char **why);
/* run() with the kind's inputs; fills out (when non-NULL) on success. */
int chk_run(chk_inst *ci, chk_out *out, warm_run_args *args_out,
            warm_error *err);
void chk_out_free(chk_out *o);

/* Where the checker is inside the plugin (where.c): a page shared with
 * the forked checks, so the parent can name the entry point, dtype and
 * placement of a crash, an exit or a hang, and the code a call returned. */
void chk_where_init(void);
void chk_where_reset(void);
/* dtype -1 / placement 0: not part of the call. */
void chk_call_begin(const char *entry, int dtype, int placement);
int chk_call_end(int rc); /* returns rc */
const char *chk_where_text(char *buf, size_t n);
const char *chk_last_rc_text(char *buf, size_t n);

/* Fills o from argv (strings point into argv, which it may modify). Returns
 * 0, or 2 after printing why to stderr; exits 0 itself for --help and
 * --version. */
int chk_parse_args(int argc, char **argv, chk_opts *o);

/* report.c: one "PASS|FAIL|SKIP name: detail" line, counted. */
void chk_report(const char *status, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Runs a check in a child process (unless --no-fork): 1 in the process that
 * must run it, 0 in the parent once it is done and reported. */
int chk_isolate_begin(const chk_opts *o, const char *name);
/* In the child: hands the counters to the parent and exits. */
void chk_isolate_end(void);
#define ISOLATED(o, name, call)                                                \
  do {                                                                         \
    if (chk_isolate_begin(o, name)) {                                          \
      call;                                                                    \
      chk_isolate_end();                                                       \
    }                                                                          \
  } while (0)
/* Adds the instance's service misuse to the counters, then destroys it. */
void chk_finish(chk_inst *ci);
/* The services line and the totals; the exit status (1 on any FAIL). */
int chk_summary(void);

#endif /* WARM_CHK_H */
