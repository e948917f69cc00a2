/*
 * warm/fault.h — surviving SIGBUS on mapped weights. A safetensors file is
 * mmap'd; if it is truncated or rewritten in place while mapped, touching a
 * page past its new end raises SIGBUS. Code that reads mapped weights runs
 * inside a guard; the host's SIGBUS handler calls warm_fault_jump(), which
 * returns to the innermost guard of the faulting thread, so that read
 * fails with an error naming the file instead of killing the process.
 *
 *   warm_fault_guard g;
 *   warm_fault_push(&g);
 *   if (sigsetjmp(g.jb, 0) == 0) {
 *     ... read the mapping ...
 *   } else {
 *     char file[256];
 *     warm_fault_describe(g.addr, file, sizeof file);  (the mapped file)
 *   }
 *   warm_fault_pop(&g);
 *
 * Guards nest per thread. After a jump, whatever the guarded code held
 * (locks, half-made state) is as it was at the fault: guard code whose
 * state a jump can leave inconsistent must not be run again.
 */
#ifndef WARM_FAULT_H
#define WARM_FAULT_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

typedef struct warm_fault_guard {
  sigjmp_buf jb;
  const void *addr; /* the faulting address, after a jump */
  struct warm_fault_guard *prev;
} warm_fault_guard;

/* Makes g the calling thread's innermost guard / removes it. */
void warm_fault_push(warm_fault_guard *g);
void warm_fault_pop(warm_fault_guard *g);

/* Async-signal-safe, for a SIGBUS handler: when the calling thread has a
 * guard, records addr in it, counts the fault and jumps there (does not
 * return); otherwise returns. */
void warm_fault_jump(const void *addr);

/* Faults recovered by warm_fault_jump so far, in the whole process. */
uint64_t warm_fault_count(void);

/* The file mapped at addr ("an unnamed mapping" when none), from
 * /proc/self/maps. Not for a signal handler. */
void warm_fault_describe(const void *addr, char *out, size_t n);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_FAULT_H */
