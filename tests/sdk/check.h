/* Tiny assertion helpers for the SDK's unit tests: a failed CHECK prints
 * file:line and the expression, counts, and the test goes on so one run shows
 * every failure; main returns check_result(). */
#ifndef WARM_TEST_CHECK_H
#define WARM_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
  do {                                                                         \
    unsigned long long a_ = (unsigned long long)(a),                           \
                       b_ = (unsigned long long)(b);                           \
    if (a_ != b_) {                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%llu != %llu)\n",        \
              __FILE__, __LINE__, #a, #b, a_, b_);                             \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

/* haystack contains needle */
#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (!h_ || !strstr(h_, n_)) {                                              \
      fprintf(stderr, "%s:%d: CHECK failed: \"%s\" does not contain \"%s\"\n", \
              __FILE__, __LINE__, h_ ? h_ : "(null)", n_);                     \
      check_failures++;                                                        \
    }                                                                          \
  } while (0)

#define RUN(test)                                                              \
  do {                                                                         \
    int before_ = check_failures;                                              \
    test();                                                                    \
    printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test);     \
  } while (0)

static inline int check_result(void) {
  if (check_failures) fprintf(stderr, "%d check(s) failed\n", check_failures);
  return check_failures ? 1 : 0;
}

#endif /* WARM_TEST_CHECK_H */
