/* hello_encoder.so as a host sees it: tokenization, normalised rows, the
 * exactness of its estimate, streaming accounting and config errors. Loaded
 * from <build>/plugins through the SDK loader, with a small services table
 * over a real ledger. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "../sdk/check.h"
#include "warm/ledger.h"
#include "warm/loader.h"
#include "warm/warm.h"

typedef struct host {
  warm_services svc;
  warm_ledger *ledger;
  uint64_t pinned;
} host;

typedef struct hdr { /* allocation header: class and size for dev_free */
  warm_mem_class cls;
  size_t bytes;
  max_align_t pad;
} hdr;

static int h_alloc(void *ctx, warm_mem_class cls, size_t n, void **out,
                   warm_error *err) {
  host *h = ctx;
  int rc = warm_ledger_book(h->ledger, "enc", cls, n, err);
  if (rc) return rc;
  hdr *p = malloc(sizeof *p + n);
  if (!p) {
    warm_ledger_release(h->ledger, "enc", cls, n);
    return warm_error_set(err, WARM_ENOMEM, "oom");
  }
  p->cls = cls;
  p->bytes = n;
  *out = p + 1;
  return 0;
}
static void h_free(void *ctx, void *ptr) {
  host *h = ctx;
  if (!ptr) return;
  hdr *p = (hdr *)ptr - 1;
  warm_ledger_release(h->ledger, "enc", p->cls, p->bytes);
  free(p);
}
static int h_pinned(void *ctx, size_t n, void **out, warm_error *err) {
  host *h = ctx;
  hdr *p = malloc(sizeof *p + n);
  if (!p) return warm_error_set(err, WARM_ENOMEM, "oom");
  p->bytes = n;
  h->pinned += n;
  *out = p + 1;
  return 0;
}
static void h_pinned_free(void *ctx, void *ptr) {
  host *h = ctx;
  if (!ptr) return;
  hdr *p = (hdr *)ptr - 1;
  h->pinned -= p->bytes;
  free(p);
}
static void h_progress(void *ctx, float f) {}
static int h_cancelled(void *ctx) {
  return 0;
}
static const char *h_get(void *ctx, const char *k) {
  return NULL;
}

static const warm_plugin_desc *D;

static void host_init(host *h) {
  memset(h, 0, sizeof *h);
  CHECK(warm_ledger_create("cpu", 1ull << 30, &h->ledger) == 0);
  h->svc = (warm_services){.struct_size = sizeof(warm_services),
                           .abi_minor = WARM_ABI_MINOR,
                           .ctx = h,
                           .dev_alloc = h_alloc,
                           .dev_free = h_free,
                           .pinned_alloc = h_pinned,
                           .pinned_free = h_pinned_free,
                           .progress = h_progress,
                           .cancelled = h_cancelled,
                           .config_get = h_get};
}

static int make(host *h, const warm_kv *kv, uint32_t n, warm_instance **out,
                warm_error *e) {
  warm_component_config c = {.struct_size = sizeof c,
                             .name = "enc",
                             .placement = WARM_PLACE_AUTO,
                             .stream_window = 1,
                             .stream_source = WARM_SOURCE_PINNED,
                             .dtype = WARM_F32,
                             .keys = kv,
                             .n_keys = n};
  return D->create(&h->svc, &c, out, e);
}

/* Runs `prompt` with max_tokens T; returns embeddings (caller frees). */
static float *embed(warm_instance *in, const char *prompt, uint32_t T,
                    int32_t *mask, uint64_t *streamed) {
  warm_run_args a = {
      .struct_size = sizeof a, .prompt = prompt, .max_tokens = T};
  warm_error e;
  if (D->run(in, &a, &e) != 0) {
    fprintf(stderr, "run: %s\n", e.msg);
    check_failures++;
    return NULL;
  }
  float *x = a.outputs[0].data;
  memcpy(mask, a.outputs[1].data, T * sizeof *mask);
  warm_tensor_free(&a.outputs[1]);
  if (streamed) *streamed = a.streamed_bytes;
  return x;
}

static int rows_equal(const float *x, int i, int j, int dim) {
  return memcmp(x + i * dim, x + j * dim, dim * sizeof(float)) == 0;
}

static void test_words_hash_to_rows_and_mask_counts_tokens(void) {
  host h;
  host_init(&h);
  warm_kv kv[] = {{"tokenizer", "words"}, {"dim", "16"}};
  warm_instance *in = NULL;
  warm_error e;
  CHECK(make(&h, kv, 2, &in, &e) == 0);
  warm_place_req r = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  CHECK(D->place(in, &r, &e) == 0);
  int32_t mask[8];
  float *x = embed(in, "  red fox\tred ", 8, mask, NULL);
  if (x) {
    CHECK(rows_equal(x, 0, 2, 16));  /* the same word, the same row */
    CHECK(!rows_equal(x, 0, 1, 16)); /* different words differ */
    CHECK(mask[0] == 1 && mask[2] == 1 && mask[3] == 0 && mask[7] == 0);
    for (int c = 0; c < 16; c++)
      CHECK(x[3 * 16 + c] == 0.0f); /* padding rows are zero */
    double ms = 0;                  /* rows are RMS-normalised */
    for (int c = 0; c < 16; c++)
      ms += (double)x[16 + c] * x[16 + c];
    CHECK(fabs(ms / 16 - 1.0) < 1e-4);
  }
  free(x);
  D->destroy(in);
  CHECK(warm_ledger_component_total(h.ledger, "enc") == 0);
  warm_ledger_destroy(h.ledger);
}

/* The ledger's peak over place + run equals the estimate exactly, in both
 * placements, for random sizes; streaming moves one row per token. */
static void
test_estimate_is_exact_and_stream_moves_one_row_per_token(unsigned seed) {
  srand(seed);
  for (int round = 0; round < 6; round++) {
    host h;
    host_init(&h);
    char dim[16], buckets[16];
    int d = 1 + rand() % 96, T = 1 + rand() % 40;
    snprintf(dim, sizeof dim, "%d", d);
    snprintf(buckets, sizeof buckets, "%d", 1 + rand() % 300);
    warm_kv kv[] = {{"dim", dim}, {"buckets", buckets}};
    warm_instance *in = NULL;
    warm_error e;
    CHECK(make(&h, kv, 2, &in, &e) == 0);
    warm_placement p = round % 2 ? WARM_PLACE_STREAM : WARM_PLACE_RESIDENT;
    warm_place_req r = {p, 1 + (uint32_t)(rand() % 3), WARM_SOURCE_PINNED};
    warm_job_shape js = {.max_tokens = (uint32_t)T};
    warm_estimate est;
    CHECK(D->estimate(in, &r, &js, &est, &e) == 0);
    CHECK(D->place(in, &r, &e) == 0);
    int32_t mask[64];
    uint64_t streamed = 0;
    char prompt[64];
    int n = rand() % 60;
    for (int i = 0; i < n; i++)
      prompt[i] = (char)('a' + rand() % 26);
    prompt[n] = 0;
    float *x = embed(in, prompt, (uint32_t)T, mask, &streamed);
    free(x);
    uint64_t peak = warm_ledger_component_peak(h.ledger, "enc");
    uint64_t total = est.persistent + est.window + est.workspace;
    if (peak != total || h.pinned != est.host_pinned) {
      fprintf(stderr,
              "seed %u round %d: peak %llu, estimate %llu; pinned %llu vs "
              "%llu\n",
              seed, round, (unsigned long long)peak, (unsigned long long)total,
              (unsigned long long)h.pinned,
              (unsigned long long)est.host_pinned);
      check_failures++;
    }
    uint64_t want = p == WARM_PLACE_STREAM
                        ? (uint64_t)(n < T ? n : T) * (uint64_t)d * 4
                        : 0;
    CHECK_EQ_U64(streamed, want);
    D->destroy(in);
    CHECK(warm_ledger_component_total(h.ledger, "enc") == 0 && h.pinned == 0);
    warm_ledger_destroy(h.ledger);
  }
}

static void test_seed_changes_the_table_and_bad_keys_are_named(void) {
  host h;
  host_init(&h);
  warm_instance *a = NULL, *b = NULL, *c = NULL;
  warm_error e;
  warm_kv s1[] = {{"seed", "1"}}, s2[] = {{"seed", "2"}};
  CHECK(make(&h, s1, 1, &a, &e) == 0 && make(&h, s2, 1, &b, &e) == 0);
  CHECK(make(&h, s1, 1, &c, &e) == 0);
  warm_place_req r = {WARM_PLACE_RESIDENT, 1, WARM_SOURCE_PINNED};
  CHECK(D->place(a, &r, &e) == 0 && D->place(b, &r, &e) == 0 &&
        D->place(c, &r, &e) == 0);
  int32_t mask[4];
  float *xa = embed(a, "hi", 4, mask, NULL),
        *xb = embed(b, "hi", 4, mask, NULL);
  float *xc = embed(c, "hi", 4, mask, NULL);
  if (xa && xb && xc) {
    CHECK(memcmp(xa, xb, 4 * 64 * sizeof(float)) != 0);
    CHECK(memcmp(xa, xc, 4 * 64 * sizeof(float)) == 0);
  }
  free(xa), free(xb), free(xc);
  D->destroy(a), D->destroy(b), D->destroy(c);

  warm_instance *bad = NULL;
  warm_kv k1[] = {{"dimm", "8"}};
  CHECK(make(&h, k1, 1, &bad, &e) == WARM_EINVAL);
  CHECK_HAS(e.msg, "unknown key 'dimm'");
  warm_kv k2[] = {{"dim", "0"}};
  CHECK(make(&h, k2, 1, &bad, &e) == WARM_EINVAL);
  CHECK_HAS(e.msg, "key 'dim': '0'");
  warm_kv k3[] = {{"tokenizer", "chars"}};
  CHECK(make(&h, k3, 1, &bad, &e) == WARM_EINVAL);
  CHECK_HAS(e.msg, "'chars' is not bytes or words");
  warm_kv k4[] = {{"buckets", "99999999999999999999"}};
  CHECK(make(&h, k4, 1, &bad, &e) == WARM_EINVAL);
  CHECK(warm_ledger_component_total(h.ledger, "enc") == 0);
  warm_ledger_destroy(h.ledger);
}

int main(void) {
  warm_plugin *p = NULL;
  warm_error e;
  if (warm_plugin_open(WARM_BUILD_DIR "/plugins/hello_encoder.so", &p, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  D = warm_plugin_descriptor(p);
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  RUN(test_words_hash_to_rows_and_mask_counts_tokens);
  int before = check_failures;
  test_estimate_is_exact_and_stream_moves_one_row_per_token(seed);
  printf("%s test_estimate_is_exact_and_stream_moves_one_row_per_token\n",
         check_failures == before ? "ok  " : "FAIL");
  RUN(test_seed_changes_the_table_and_bad_keys_are_named);
  warm_plugin_close(p);
  return check_result();
}
