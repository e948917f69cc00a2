/* warm_parse_size / warm_format_size: units, fractions, bad strings,
 * overflow, and a randomized round trip. */
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "../sdk/check.h"
#include "warm/warm.h"

static uint64_t parse_ok(const char *s) {
  uint64_t v = 0xdeadbeef;
  int rc = warm_parse_size(s, &v);
  if (rc != WARM_OK) {
    fprintf(stderr, "parse_size(\"%s\") failed unexpectedly\n", s);
    check_failures++;
  }
  return v;
}

static void test_parse_size_accepts_binary_and_decimal_units(void) {
  CHECK_EQ_U64(parse_ok("0"), 0);
  CHECK_EQ_U64(parse_ok("4096"), 4096);
  CHECK_EQ_U64(parse_ok("4096B"), 4096);
  CHECK_EQ_U64(parse_ok("64k"), 64 * 1024);
  CHECK_EQ_U64(parse_ok("64K"), 64 * 1024);
  CHECK_EQ_U64(parse_ok("64KiB"), 64 * 1024);
  CHECK_EQ_U64(parse_ok("64kB"), 64000);
  CHECK_EQ_U64(parse_ok("256MiB"), 256ull << 20);
  CHECK_EQ_U64(parse_ok("256M"), 256ull << 20);
  CHECK_EQ_U64(parse_ok("256MB"), 256000000ull);
  CHECK_EQ_U64(parse_ok("92GiB"), 92ull << 30);
  CHECK_EQ_U64(parse_ok("92gib"), 92ull << 30);
  CHECK_EQ_U64(parse_ok("2TiB"), 2ull << 40);
  CHECK_EQ_U64(parse_ok("2TB"), 2000000000000ull);
  CHECK_EQ_U64(parse_ok(" 256 MiB "), 256ull << 20);
}

static void test_parse_size_fractions_round_down_to_bytes(void) {
  CHECK_EQ_U64(parse_ok("1.5GB"), 1500000000ull);
  CHECK_EQ_U64(parse_ok("1.5GiB"), 3ull << 29);
  CHECK_EQ_U64(parse_ok("0.5KiB"), 512);
  CHECK_EQ_U64(parse_ok("0.1KiB"), 102); /* 102.4 rounds down */
  CHECK_EQ_U64(parse_ok("1.0"), 1);      /* .0 of a byte is whole */
  CHECK_EQ_U64(parse_ok("0.333333333333333333333GiB"), 357913941ull);
  CHECK_EQ_U64(parse_ok("15.999999999999999999TiB"), (16ull << 40) - 1);
}

static void test_parse_size_rejects_bad_strings(void) {
  static const char *bad[] = {"",      " ",     "-1",    "+1",     "MiB",
                              "1.",    ".5GiB", "1.5",   "12 34",  "1PiB",
                              "1 G B", "1GiBx", "1e9",   "0x100",  "1,5GB",
                              "1..5G", "nan",   "1GiB!", "1 MiB 2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t v = 77;
    int rc = warm_parse_size(bad[i], &v);
    if (rc != WARM_EINVAL || v != 77) {
      fprintf(stderr, "parse_size(\"%s\") accepted (rc %d)\n", bad[i], rc);
      check_failures++;
    }
  }
  uint64_t v;
  CHECK(warm_parse_size(NULL, &v) == WARM_EINVAL);
  CHECK(warm_parse_size("1", NULL) == WARM_EINVAL);
}

static void test_parse_size_detects_overflow(void) {
  uint64_t v;
  CHECK_EQ_U64(parse_ok("18446744073709551615"), UINT64_MAX);
  CHECK(warm_parse_size("18446744073709551616", &v) == WARM_EINVAL);
  CHECK(warm_parse_size("99999999999999999999999", &v) == WARM_EINVAL);
  CHECK_EQ_U64(parse_ok("16777215TiB"), 16777215ull << 40);
  CHECK(warm_parse_size("16777216TiB", &v) == WARM_EINVAL);
  CHECK(warm_parse_size("16777215.9999999TiB", &v) == WARM_OK);
  CHECK(warm_parse_size("18446744073709551615.5KiB", &v) == WARM_EINVAL);
}

static void test_format_size_picks_binary_units(void) {
  char b[32];
  CHECK(strcmp(warm_format_size(0, b, sizeof b), "0 B") == 0);
  CHECK(strcmp(warm_format_size(1023, b, sizeof b), "1023 B") == 0);
  CHECK(strcmp(warm_format_size(1024, b, sizeof b), "1.00 KiB") == 0);
  CHECK(strcmp(warm_format_size(3ull << 29, b, sizeof b), "1.50 GiB") == 0);
  CHECK(strcmp(warm_format_size(92ull << 30, b, sizeof b), "92.00 GiB") == 0);
  CHECK(strcmp(warm_format_size(UINT64_MAX, b, sizeof b), "16.00 EiB") == 0);
  char tiny[4];
  warm_format_size(92ull << 30, tiny, sizeof tiny); /* truncates, no overrun */
  CHECK(strlen(tiny) == 3);
}

/* Random values printed as "<whole><unit>" or "<n>.<frac><unit>" parse back
 * to the exact integer the string denotes. */
static void test_parse_size_random_round_trip(unsigned seed) {
  static const struct {
    const char *u;
    uint64_t m;
  } us[] = {{"", 1},
            {"KiB", 1ull << 10},
            {"MiB", 1ull << 20},
            {"GiB", 1ull << 30},
            {"kB", 1000},
            {"GB", 1000000000ull}};
  srand(seed);
  for (int i = 0; i < 2000; i++) {
    int k = rand() % 6;
    uint64_t whole = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % 100000;
    unsigned frac = (unsigned)(rand() % 1000); /* three decimals */
    char s[64];
    uint64_t want;
    if (us[k].m == 1) {
      snprintf(s, sizeof s, "%" PRIu64, whole);
      want = whole;
    } else {
      snprintf(s, sizeof s, "%" PRIu64 ".%03u%s", whole, frac, us[k].u);
      want = whole * us[k].m + (uint64_t)frac * us[k].m / 1000;
    }
    uint64_t got = 0;
    if (warm_parse_size(s, &got) != WARM_OK || got != want) {
      fprintf(stderr, "seed %u: \"%s\" -> %" PRIu64 ", want %" PRIu64 "\n",
              seed, s, got, want);
      check_failures++;
      break;
    }
  }
}

int main(void) {
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  RUN(test_parse_size_accepts_binary_and_decimal_units);
  RUN(test_parse_size_fractions_round_down_to_bytes);
  RUN(test_parse_size_rejects_bad_strings);
  RUN(test_parse_size_detects_overflow);
  RUN(test_format_size_picks_binary_units);
  test_parse_size_random_round_trip(seed);
  printf("%s test_parse_size_random_round_trip\n",
         check_failures ? "FAIL" : "ok  ");
  return check_result();
}
