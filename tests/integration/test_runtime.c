/*
 * test_runtime — the host runtime in-process, with the SDK's fixture
 * plugins: the services table books in the ledger before it allocates and
 * refuses past the budget; a plugin that leaks device memory in destroy()
 * is cleaned up and its ledger entry dropped; one .so serves two components
 * and closes after the last; budgets are enforced at prepare; executors run
 * operations strictly in order.
 */
#include <pthread.h>

#include "reload.h"
#include "wh_testutil.h"

#define FIX WARM_BUILD_DIR "/tests/fixtures"
#define TABLE (256 * 8 * 4) /* fx plugins: 256 x 8 floats */

static wh_config *cfg_from(const char *fmt, const char *a, const char *b) {
  char text[2048];
  snprintf(text, sizeof text, fmt, a, b);
  wh_config *c = NULL;
  if (wh_config_parse("/virtual/test.ini", text, strlen(text), &c) != 0)
    exit(1);
  return c;
}

/* Prepares and commits; returns 0 or the prepare/commit code. */
static int apply(wh_runtime *rt, wh_config *c) {
  wh_plan *plan = NULL;
  int rc = wh_reload_prepare(rt, c, &plan);
  for (size_t i = 0; i < c->n_errors; i++)
    fprintf(stderr, "  (config) %s\n", c->errors[i]);
  if (rc == 0) {
    char sum[256];
    warm_error e = {0};
    rc = wh_reload_commit(rt, plan, sum, sizeof sum, &e);
    if (rc) fprintf(stderr, "  commit: %s\n", e.msg);
  }
  wh_config_free(c);
  return rc;
}

typedef struct walk {
  int n;
  uint64_t persistent;
} walk;

static void count_cb(void *user, const warm_ledger_entry *e) {
  walk *w = user;
  w->n++;
  w->persistent += e->persistent;
}

static const char *TWO =
    "[host]\nplugin_dir = %s\nadmin_socket = /virtual/a.sock\n"
    "[device cpu]\nbudget = %s\n"
    "[component a]\nplugin = good\n[component b]\nplugin = good\n";

static void test_services_book_first_and_refuse_past_budget(void) {
  wh_runtime *rt = NULL;
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  /* Two tables do not fit in 12 KiB: prepare says so, nothing changes. */
  wh_config *c = cfg_from(TWO, FIX, "12KiB");
  wh_config *keep = wh_config_ref(c);
  CHECK(apply(rt, c) == WARM_EINVAL, "over budget refused at prepare");
  int found = 0;
  for (size_t i = 0; i < keep->n_errors; i++)
    found |= strstr(keep->errors[i], ":5: device cpu: placed components "
                                     "need 16.00 KiB") != NULL;
  CHECK(found, "budget error at the budget line");
  wh_config_free(keep);
  CHECK(rt->n_components == 0 && rt->config == NULL, "runtime untouched");

  CHECK(apply(rt, cfg_from(TWO, FIX, "20KiB")) == 0, "fits in 20 KiB");
  wh_device *dev = wh_runtime_device(rt, "cpu");
  warm_ledger_stats st;
  warm_ledger_stats_get(dev->ledger, &st);
  CHECK(st.booked == 2 * TABLE, "booked %llu", (unsigned long long)st.booked);
  CHECK(wh_registry_open_count(rt->registry) == 1, "good.so opened once");

  /* Straight through a component's services table. */
  wh_component *a = rt->components[0];
  void *p = NULL;
  warm_error e = {0};
  uint64_t avail = warm_ledger_available(dev->ledger);
  int rc = a->svc.dev_alloc(a->svc.ctx, WARM_MEM_WORKSPACE, avail + 1, &p, &e);
  CHECK(rc == WARM_ENOSPACE && p == NULL && strstr(e.msg, "cpu"),
        "refused: %d %s", rc, e.msg);
  warm_ledger_stats_get(dev->ledger, &st);
  CHECK(st.booked == 2 * TABLE, "nothing booked by the refusal");
  rc = a->svc.dev_alloc(a->svc.ctx, WARM_MEM_WORKSPACE, avail, &p, &e);
  CHECK(rc == 0 && p != NULL, "exactly the rest fits: %s", e.msg);
  if (p) memset(p, 0xab, (size_t)avail); /* it is real memory */
  CHECK(warm_ledger_available(dev->ledger) == 0, "device full");
  a->svc.dev_free(a->svc.ctx, p);
  a->svc.dev_free(a->svc.ctx, (void *)&e); /* not ours: ignored, logged */
  CHECK(warm_ledger_available(dev->ledger) == avail, "released after free");
  CHECK(a->svc.dev_alloc(a->svc.ctx, (warm_mem_class)9, 16, &p, &e) ==
            WARM_EINVAL,
        "bad class");
  void *pin = NULL;
  CHECK(a->svc.pinned_alloc(a->svc.ctx, 4096, &pin, &e) == 0 &&
            a->host_pinned == 4096,
        "pinned counted apart from the budget");
  CHECK(warm_ledger_available(dev->ledger) == avail, "pinned not booked");
  a->svc.pinned_free(a->svc.ctx, pin);
  CHECK(a->host_pinned == 0, "pinned released");
  CHECK(!strcmp(a->svc.config_get(a->svc.ctx, "plugin"), "good") &&
            a->svc.config_get(a->svc.ctx, "nope") == NULL,
        "config_get");

  /* One run through the plugin: its workspace is booked and released, and
   * the peak shows it. */
  warm_ledger_mark_reset(dev->ledger);
  warm_run_args args = {.struct_size = sizeof args, .prompt = "hi"};
  rc = wh_plugin_desc(a->plugin)->run(a->inst, &args, &e);
  CHECK(rc == 0 && args.n_outputs == 2, "run: %s", e.msg);
  for (uint32_t i = 0; i < args.n_outputs; i++)
    warm_tensor_free(&args.outputs[i]);
  warm_ledger_stats_get(dev->ledger, &st);
  CHECK(st.booked == 2 * TABLE && st.peak == 2 * TABLE + 16 * 8 * 4,
        "peak %llu", (unsigned long long)st.peak);
  wh_runtime_destroy(rt);
}

static void test_leaky_plugin_is_cleaned_up_and_forgotten(void) {
  wh_runtime *rt = NULL;
  CHECK(wh_runtime_create(&rt) == 0, "runtime");
  rt->live = 1;
  CHECK(apply(rt, cfg_from("[host]\nplugin_dir = %s\nadmin_socket = /v/a\n"
                           "[component leak]\nplugin = %s\n"
                           "[component a]\nplugin = good\n",
                           FIX, "leaky")) == 0,
        "load");
  CHECK(wh_registry_open_count(rt->registry) == 2, "two .so open");
  /* Reload without the leaky one: removed, its table freed by the host. */
  CHECK(apply(rt, cfg_from("[host]\nplugin_dir = %s\nadmin_socket = /v/a\n"
                           "[component a]\nplugin = %s\n",
                           FIX, "good")) == 0,
        "reload");
  wh_device *dev = wh_runtime_device(rt, "cpu");
  walk w = {0};
  warm_ledger_foreach(dev->ledger, count_cb, &w);
  CHECK(w.n == 1 && w.persistent == TABLE, "ledger: %d entries, %llu bytes",
        w.n, (unsigned long long)w.persistent);
  CHECK(wh_registry_open_count(rt->registry) == 1, "leaky.so closed");
  CHECK(rt->n_components == 1 && !strcmp(rt->components[0]->name, "a"),
        "a kept");
  wh_runtime_destroy(rt);
}

typedef struct order {
  pthread_mutex_t mu;
  int seen[2000];
  int n;
} order;

typedef struct step {
  order *o;
  int id;
} step;

static int record(void *arg) {
  step *s = arg;
  pthread_mutex_lock(&s->o->mu);
  s->o->seen[s->o->n++] = s->id;
  pthread_mutex_unlock(&s->o->mu);
  return s->id;
}

typedef struct self_call {
  wh_executor *ex;
  int rc;
} self_call;

static int nested(void *arg) {
  self_call *sc = arg;
  sc->rc = wh_executor_call(sc->ex, record, NULL);
  return 0;
}

static void test_executor_runs_ops_in_submission_order(void) {
  wh_executor *ex = NULL;
  CHECK(wh_executor_create("test", &ex) == 0, "create");
  static order o = {.mu = PTHREAD_MUTEX_INITIALIZER};
  static step steps[2000];
  o.n = 0;
  for (int i = 0; i < 2000; i++) {
    steps[i] = (step){&o, i};
    if (i % 100 == 99)
      CHECK(wh_executor_call(ex, record, &steps[i]) == i, "call result");
    else
      CHECK(wh_executor_submit(ex, record, NULL, &steps[i]) == 0, "submit");
  }
  self_call sc = {ex, 0};
  CHECK(wh_executor_call(ex, nested, &sc) == 0 && sc.rc == WARM_EINTERNAL,
        "a call from its own thread is refused, not a deadlock");
  wh_executor_destroy(ex); /* drains */
  CHECK(o.n == 2000, "all ran: %d", o.n);
  int in_order = 1;
  for (int i = 0; i < o.n; i++)
    in_order &= o.seen[i] == i;
  CHECK(in_order, "strict order");
}

int main(void) {
  if (access(FIX "/good.so", R_OK) || access(FIX "/leaky.so", R_OK)) {
    fprintf(stderr, "FAIL: fixtures missing in %s (target warm_fixtures)\n",
            FIX);
    return 1;
  }
  RUN(test_services_book_first_and_refuse_past_budget);
  RUN(test_leaky_plugin_is_cleaned_up_and_forgotten);
  RUN(test_executor_runs_ops_in_submission_order);
  return wt_failures ? 1 : 0;
}
