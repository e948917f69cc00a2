/* The per-device ledger: bookings by class, refusal past the budget,
 * reservations, peaks, ordering, and concurrent booking from threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "../sdk/check.h"
#include "warm/ledger.h"
#include "warm/warm.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_ledger_refuses_past_budget_and_names_everything(void) {
  warm_ledger *l;
  warm_error e = {0};
  CHECK(warm_ledger_create("cuda:0", 96 * GiB, &l) == 0);
  CHECK(warm_ledger_book(l, "transformer.stage1", WARM_MEM_PERSISTENT, 35 * GiB,
                         &e) == 0);
  CHECK(warm_ledger_book(l, "transformer.stage2", WARM_MEM_PERSISTENT, 35 * GiB,
                         &e) == 0);
  CHECK(warm_ledger_book(l, "text_encoder", WARM_MEM_PERSISTENT, 23 * GiB,
                         &e) == 0);
  int rc = warm_ledger_book(l, "text_encoder", WARM_MEM_WORKSPACE, 4 * GiB, &e);
  CHECK(rc == WARM_ENOSPACE && e.code == WARM_ENOSPACE);
  CHECK_HAS(e.msg, "cuda:0");
  CHECK_HAS(e.msg, "text_encoder");
  CHECK_HAS(e.msg, "96.00 GiB"); /* budget */
  CHECK_HAS(e.msg, "93.00 GiB"); /* in use */
  CHECK_HAS(e.msg, "4.00 GiB");  /* asked */
  CHECK_HAS(e.msg, "workspace");
  warm_ledger_stats s;
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 93 * GiB); /* nothing booked by the refusal */
  CHECK_EQ_U64(s.booked, 93 * GiB);
  CHECK_EQ_U64(warm_ledger_available(l), 3 * GiB);
  /* exactly filling the budget is allowed */
  CHECK(warm_ledger_book(l, "text_encoder", WARM_MEM_WORKSPACE, 3 * GiB, &e) ==
        0);
  CHECK_EQ_U64(warm_ledger_available(l), 0);
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_WORKSPACE, 1, &e) == WARM_ENOSPACE);
  /* a huge request does not wrap around */
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_WORKSPACE, UINT64_MAX, &e) ==
        WARM_ENOSPACE);
  CHECK(warm_ledger_book(l, "vae", (warm_mem_class)9, 1, &e) == WARM_EINVAL);
  warm_ledger_destroy(l);
}

static void collect(void *user, const warm_ledger_entry *e) {
  char *out = user;
  char line[160];
  snprintf(line, sizeof line, "%s:%llu/%llu/%llu/r%llu/p%llu;", e->component,
           (unsigned long long)(e->persistent / MiB),
           (unsigned long long)(e->window / MiB),
           (unsigned long long)(e->workspace / MiB),
           (unsigned long long)(e->reserved / MiB),
           (unsigned long long)(e->peak / MiB));
  strcat(out, line);
}

static void test_ledger_books_by_class_in_first_booking_order(void) {
  warm_ledger *l;
  CHECK(warm_ledger_create("cpu", 1 * GiB, &l) == 0);
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_WORKSPACE, 10 * MiB, NULL) == 0);
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_PERSISTENT, 100 * MiB, NULL) == 0);
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_WINDOW, 20 * MiB, NULL) == 0);
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_PERSISTENT, 5 * MiB, NULL) == 0);
  warm_ledger_release(l, "vae", WARM_MEM_WORKSPACE, 10 * MiB);
  warm_ledger_release(l, "enc", WARM_MEM_WINDOW, 999 * MiB); /* clamped */
  warm_ledger_release(l, "nobody", WARM_MEM_WINDOW, 1);      /* ignored */
  char buf[512] = "";
  warm_ledger_foreach(l, collect, buf);
  CHECK(strcmp(buf, "vae:5/0/0/r0/p15;enc:100/0/0/r0/p120;") == 0);
  if (strcmp(buf, "vae:5/0/0/r0/p15;enc:100/0/0/r0/p120;"))
    fprintf(stderr, "got %s\n", buf);
  CHECK_EQ_U64(warm_ledger_component_total(l, "enc"), 100 * MiB);
  CHECK_EQ_U64(warm_ledger_component_peak(l, "enc"), 120 * MiB);
  CHECK_EQ_U64(warm_ledger_component_total(l, "nobody"), 0);
  warm_ledger_stats s;
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 105 * MiB);
  CHECK_EQ_U64(s.booked, 105 * MiB); /* the clamped release took 20 MiB */
  CHECK_EQ_U64(s.peak, 135 * MiB);
  CHECK(s.n_components == 2);
  CHECK(strcmp(warm_ledger_device(l), "cpu") == 0);
  /* forget refuses while bytes are booked, works once they are released */
  warm_ledger_forget(l, "vae");
  warm_ledger_stats_get(l, &s);
  CHECK(s.n_components == 2);
  warm_ledger_release(l, "vae", WARM_MEM_PERSISTENT, 5 * MiB);
  warm_ledger_forget(l, "vae");
  warm_ledger_stats_get(l, &s);
  CHECK(s.n_components == 1 && s.used == 100 * MiB);
  warm_ledger_destroy(l);
}

static void test_ledger_reservation_counts_max_of_booked_and_reserved(void) {
  warm_ledger *l;
  warm_error e;
  warm_ledger_stats s;
  CHECK(warm_ledger_create("cuda:1", 10 * GiB, &l) == 0);
  CHECK(warm_ledger_book(l, "dit", WARM_MEM_PERSISTENT, 6 * GiB, &e) == 0);
  CHECK(warm_ledger_reserve(l, "enc", 3 * GiB, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB);
  CHECK_EQ_U64(s.booked, 6 * GiB);
  /* another component cannot take the reserved bytes */
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_WORKSPACE, 2 * GiB, &e) ==
        WARM_ENOSPACE);
  /* the holder books within its reservation without growing use */
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_WINDOW, 1 * GiB, &e) == 0);
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_WORKSPACE, 2 * GiB, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB);
  CHECK_EQ_U64(s.booked, 9 * GiB);
  /* past its reservation it draws on the free bytes, then is refused */
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_WORKSPACE, 1 * GiB, &e) == 0);
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_WORKSPACE, 1, &e) == WARM_ENOSPACE);
  warm_ledger_release(l, "enc", WARM_MEM_WORKSPACE, 3 * GiB);
  warm_ledger_release(l, "enc", WARM_MEM_WINDOW, 1 * GiB);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB); /* the reservation still holds */
  /* a reservation that does not fit is refused and changes nothing */
  CHECK(warm_ledger_reserve(l, "enc", 5 * GiB, &e) == WARM_ENOSPACE);
  CHECK_HAS(e.msg, "reservation");
  CHECK_HAS(e.msg, "cuda:1");
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB);
  CHECK(warm_ledger_reserve(l, "enc", 0, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 6 * GiB);
  /* budget changes: refused below use, accepted above */
  CHECK(warm_ledger_set_budget(l, 5 * GiB, &e) == WARM_ENOSPACE);
  CHECK_HAS(e.msg, "6.00 GiB");
  CHECK(warm_ledger_set_budget(l, 6 * GiB, &e) == 0);
  CHECK_EQ_U64(warm_ledger_available(l), 0);
  warm_ledger_destroy(l);
}

/* A reservation is measured against what its holder has already booked:
 * below it changes nothing, above it grows use by the difference only, and
 * the holder's bookings stay counted once it is cleared. */
static void test_ledger_reservation_below_and_above_booked(void) {
  warm_ledger *l;
  warm_error e;
  warm_ledger_stats s;
  CHECK(warm_ledger_create("cuda:2", 10 * GiB, &l) == 0);
  CHECK(warm_ledger_book(l, "dit", WARM_MEM_PERSISTENT, 5 * GiB, &e) == 0);
  CHECK(warm_ledger_book(l, "enc", WARM_MEM_PERSISTENT, 4 * GiB, &e) == 0);
  /* below what enc holds: use stays 9 GiB, 1 GiB free */
  CHECK(warm_ledger_reserve(l, "enc", 1 * GiB, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB);
  CHECK_EQ_U64(warm_ledger_available(l), 1 * GiB);
  /* above it: only the 1 GiB past the booking is drawn from the budget */
  CHECK(warm_ledger_reserve(l, "enc", 5 * GiB, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 10 * GiB);
  CHECK_EQ_U64(s.booked, 9 * GiB);
  CHECK_EQ_U64(warm_ledger_available(l), 0);
  /* one byte further does not fit beside dit */
  CHECK(warm_ledger_reserve(l, "enc", 5 * GiB + 1, &e) == WARM_ENOSPACE);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 10 * GiB);
  /* back below the booking: the booking still counts */
  CHECK(warm_ledger_reserve(l, "enc", 2 * GiB, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 9 * GiB);
  CHECK(warm_ledger_book(l, "vae", WARM_MEM_WORKSPACE, 1 * GiB + 1, &e) ==
        WARM_ENOSPACE);
  /* releasing the booking leaves the 2 GiB reservation, never a wrap */
  warm_ledger_release(l, "enc", WARM_MEM_PERSISTENT, 4 * GiB);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 7 * GiB);
  CHECK_EQ_U64(s.booked, 5 * GiB);
  CHECK_EQ_U64(warm_ledger_available(l), 3 * GiB);
  CHECK(warm_ledger_reserve(l, "enc", 0, &e) == 0);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 5 * GiB);
  /* a first reservation by a component with nothing booked */
  CHECK(warm_ledger_reserve(l, "new", 5 * GiB, &e) == 0);
  CHECK(warm_ledger_reserve(l, "new2", 1, &e) == WARM_ENOSPACE);
  warm_ledger_destroy(l);
}

static void test_ledger_mark_reset_restarts_peaks_at_current_use(void) {
  warm_ledger *l;
  warm_ledger_stats s;
  CHECK(warm_ledger_create("cpu", 1 * GiB, &l) == 0);
  warm_ledger_book(l, "a", WARM_MEM_PERSISTENT, 100 * MiB, NULL);
  warm_ledger_book(l, "a", WARM_MEM_WORKSPACE, 300 * MiB, NULL);
  warm_ledger_release(l, "a", WARM_MEM_WORKSPACE, 300 * MiB);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.peak, 400 * MiB);
  warm_ledger_mark_reset(l);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.peak, 100 * MiB);
  CHECK_EQ_U64(warm_ledger_component_peak(l, "a"), 100 * MiB);
  warm_ledger_book(l, "b", WARM_MEM_WORKSPACE, 50 * MiB, NULL);
  warm_ledger_release(l, "b", WARM_MEM_WORKSPACE, 50 * MiB);
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.peak, 150 * MiB);
  CHECK_EQ_U64(warm_ledger_component_peak(l, "b"), 50 * MiB);
  warm_ledger_destroy(l);
}

/* Threads book and release random amounts under a budget smaller than what
 * one thread alone may want (8 slots of up to 64 MiB against 200 MiB), so
 * refusals are certain; every accepted booking is released. Use never passes
 * the budget (checked by a watcher thread) and ends at zero. */
typedef struct worker {
  warm_ledger *l;
  char name[16];
  unsigned seed;
  int accepted, refused;
} worker;

static pthread_barrier_t start_line;

static void *worker_main(void *arg) {
  worker *w = arg;
  pthread_barrier_wait(&start_line); /* all start together: real overlap */
  uint64_t held[8] = {0};
  for (int i = 0; i < 4000; i++) {
    int slot = rand_r(&w->seed) % 8;
    if (held[slot]) {
      warm_ledger_release(w->l, w->name, WARM_MEM_WORKSPACE, held[slot]);
      held[slot] = 0;
      continue;
    }
    uint64_t b = (uint64_t)(rand_r(&w->seed) % 64 + 1) * MiB;
    if (warm_ledger_book(w->l, w->name, WARM_MEM_WORKSPACE, b, NULL) == 0) {
      held[slot] = b;
      w->accepted++;
    } else {
      w->refused++;
    }
  }
  for (int s = 0; s < 8; s++)
    warm_ledger_release(w->l, w->name, WARM_MEM_WORKSPACE, held[s]);
  return NULL;
}

static atomic_int watching;
static void *watcher_main(void *arg) {
  warm_ledger *l = arg;
  while (watching) {
    warm_ledger_stats s;
    warm_ledger_stats_get(l, &s);
    if (s.used > s.budget || s.booked > s.used || s.peak > s.budget) {
      fprintf(stderr, "ledger over budget: used %llu budget %llu\n",
              (unsigned long long)s.used, (unsigned long long)s.budget);
      check_failures++;
      break;
    }
  }
  return NULL;
}

static void test_ledger_concurrent_booking_never_exceeds_budget(unsigned seed) {
  enum { N = 8 };
  warm_ledger *l;
  CHECK(warm_ledger_create("cpu", 200 * MiB, &l) == 0);
  pthread_barrier_init(&start_line, NULL, N);
  worker w[N];
  pthread_t t[N], wt;
  watching = 1;
  pthread_create(&wt, NULL, watcher_main, l);
  for (int i = 0; i < N; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].l = l;
    snprintf(w[i].name, sizeof w[i].name, "c%d", i);
    w[i].seed = seed + (unsigned)i;
    pthread_create(&t[i], NULL, worker_main, &w[i]);
  }
  int acc = 0, ref = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    acc += w[i].accepted;
    ref += w[i].refused;
  }
  watching = 0;
  pthread_join(wt, NULL);
  pthread_barrier_destroy(&start_line);
  warm_ledger_stats s;
  warm_ledger_stats_get(l, &s);
  CHECK_EQ_U64(s.used, 0);
  CHECK_EQ_U64(s.booked, 0);
  CHECK(s.n_components == N);
  CHECK(s.peak <= 200 * MiB && s.peak > 100 * MiB);
  CHECK(acc > 0 && ref > 0); /* the budget was actually contended */
  printf("concurrent: %d accepted, %d refused, peak %llu MiB\n", acc, ref,
         (unsigned long long)(s.peak / MiB));
  warm_ledger_destroy(l);
}

int main(void) {
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  RUN(test_ledger_refuses_past_budget_and_names_everything);
  RUN(test_ledger_books_by_class_in_first_booking_order);
  RUN(test_ledger_reservation_counts_max_of_booked_and_reserved);
  RUN(test_ledger_reservation_below_and_above_booked);
  RUN(test_ledger_mark_reset_restarts_peaks_at_current_use);
  int before = check_failures;
  test_ledger_concurrent_booking_never_exceeds_budget(seed);
  printf("%s test_ledger_concurrent_booking_never_exceeds_budget\n",
         check_failures == before ? "ok  " : "FAIL");
  return check_result();
}
