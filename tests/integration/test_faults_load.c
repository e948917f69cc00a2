/*
 * test_faults_load.c — the real warmd under continuous submission (label
 * faults): client threads POST jobs back to back while the main thread
 * swaps the transformer's weights, reloads a config that replaces it,
 * switches placements live (the encoder's plugin has no live placement, so
 * it is re-created each time) and swaps the encoder. Every POST must be
 * accepted (0 refused), every job must end done (0 failed) and every id
 * must still answer with its record at the end (0 lost).
 */
#include <pthread.h>

#include "warmd_harness.h"

#define CLIENTS 2
#define MAX_JOBS 4096

static struct {
  pthread_mutex_t mu;
  int stop;
  char ids[MAX_JOBS][32];
  size_t n_ids;
  size_t refused;
  char first_refusal[600];
} L = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *client(void *arg) {
  long k = (long)arg;
  for (unsigned i = 0;; i++) {
    pthread_mutex_lock(&L.mu);
    int stop = L.stop || L.n_ids >= MAX_JOBS;
    pthread_mutex_unlock(&L.mu);
    if (stop) break;
    char body[256], id[32], msg[512];
    snprintf(body, sizeof body,
             "{\"prompt\": \"client %ld job %u\", \"seed\": %u, \"steps\": "
             "1}",
             k, i, i);
    int st = wd_post(body, id, msg, sizeof msg);
    pthread_mutex_lock(&L.mu);
    if (st == 202) {
      snprintf(L.ids[L.n_ids++], 32, "%s", id);
    } else {
      if (!L.refused++)
        snprintf(L.first_refusal, sizeof L.first_refusal, "%d %s", st, msg);
    }
    pthread_mutex_unlock(&L.mu);
    /* Keep the queue short: a client waits for its job now and then. */
    if (st == 202 && i % 4 == 3) {
      char s[32];
      wd_wait(id, 60, s, sizeof s);
    }
  }
  return NULL;
}

/* One admin command that must succeed (its reply starts with `ok`). */
static void admin_ok(const char *cmd, const char *ok) {
  char *rep = wt_cmd(wd_sock, cmd);
  CHECK(rep && !strncmp(rep, ok, strlen(ok)), "%s: %s", cmd,
        rep ? rep : "(no reply)");
  free(rep);
}

static void test_load_through_swaps_reloads_and_placement_switches(void) {
  /* The encoder's plugin has no live placement: every switch of it
   * re-creates the instance (issue item 14) under the load. */
  wd_encoder = "plugin = fault_encoder\ndim = 24\nbuckets = 512\n"
               "placement = resident\n";
  wd_config("", "1GiB", NULL, "");
  CHECK(wd_start(1) == 0, "warmd starts");
  pthread_t th[CLIENTS];
  for (long k = 0; k < CLIENTS; k++)
    pthread_create(&th[k], NULL, client, (void *)k);
  char cmd[1200];
  const char *dits[2] = {"dit_tiny_affine", "dit_tiny"};
  for (int round = 0; round < 12; round++) {
    snprintf(cmd, sizeof cmd,
             "swap component transformer plugin transformer_ltxv weights "
             "%s/ltxv-ckpt/%s",
             WARM_BUILD_DIR, dits[round % 2]);
    admin_ok(cmd, "swapped transformer");
    admin_ok("swap component text_encoder plugin fault_encoder", "swapped");
    admin_ok("set component transformer placement stream", "transformer:");
    admin_ok("set component text_encoder placement stream", "text_encoder:");
    admin_ok("set component transformer placement resident", "transformer:");
    admin_ok("set component text_encoder placement auto", "text_encoder:");
    /* A reload that replaces the transformer (another path, same files). */
    wd_config("", "1GiB",
              round % 2 ? "ltxv-ckpt/dit_tiny"
                        : "ltxv-ckpt/../ltxv-ckpt/dit_tiny",
              "");
    admin_ok("reload", "reloaded");
  }
  pthread_mutex_lock(&L.mu);
  L.stop = 1;
  pthread_mutex_unlock(&L.mu);
  for (int k = 0; k < CLIENTS; k++)
    pthread_join(th[k], NULL);

  size_t done = 0, failed = 0, lost = 0;
  char st[32], first_bad[256] = "";
  for (size_t i = 0; i < L.n_ids; i++) {
    wd_wait(L.ids[i], 120, st, sizeof st);
    if (!strcmp(st, "done")) {
      done++;
    } else {
      if (!strcmp(st, "?"))
        lost++;
      else
        failed++;
      if (!first_bad[0]) {
        json_t *j = wd_job(L.ids[i]);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        snprintf(first_bad, sizeof first_bad, "%s: %s", L.ids[i],
                 s ? s : "(gone)");
        free(s);
        json_decref(j);
      }
    }
  }
  fprintf(stderr, "  %zu jobs accepted, %zu done, %zu refused, %zu failed, "
                  "%zu lost\n",
          L.n_ids, done, L.refused, failed, lost);
  CHECK(L.n_ids >= 25, "enough jobs ran through the changes: %zu", L.n_ids);
  CHECK(L.refused == 0, "0 refused (first: %s)", L.first_refusal);
  CHECK(failed == 0 && lost == 0, "0 failed, 0 lost (first: %s)", first_bad);
  CHECK(wd_stop() == 0, "exit 0");
}

int main(void) {
  int rc = wd_setup("load");
  if (rc) return rc;
  RUN(test_load_through_swaps_reloads_and_placement_switches);
  if (wt_failures) wt_dump_log(&wd_proc);
  wd_teardown();
  return wt_failures ? 1 : 0;
}
