/*
 * host/plan.h — `warmd -c FILE --plan`: the memory plan of one job of the
 * [pipeline] (LTX-2 types), per device, without loading weights or opening
 * a device. Every component is created plan-only (WARM_SVC_PLAN_ONLY) on a
 * paper device; the load's placement (reload.c: fixed placements, then
 * `auto` by priority, resident when it fits beside what is placed) and each
 * call's (pipeline.c do_call/demote_autos) are replayed on the plugins'
 * estimates:
 *
 *   - between calls a component holds what its placement books: resident
 *     its persistent bytes, stream its persistent (non-layer) bytes and its
 *     window;
 *   - a call reserves persistent + window + workspace of the placement it
 *     runs in; an `auto` one runs resident when that fits beside what the
 *     others hold, else it moves to stream (freeing its layers first); when
 *     even that does not fit, `auto` components of no higher priority on
 *     the device are moved to stream;
 *   - after the call the reservation is dropped and the component keeps
 *     the placement it ran in.
 *
 * The steps of a job: encode (the negative prompt of a guided type is a
 * second call of the same size), stage 1 (half size for the two-stage
 * types, every guidance pass in one call), upsample, stage 2, decode video,
 * decode audio.
 */
#ifndef WH_PLAN_H
#define WH_PLAN_H

#include <stdint.h>
#include <stdio.h>

/* The job's size: 0 takes [pipeline]'s value. */
typedef struct wh_plan_job {
  uint32_t frames, height, width;
} wh_plan_job;

/* Prints the plan of the config at `path` to out (errors to err); returns
 * the exit status: 0 when the job fits every device, 1 when it cannot (the
 * last line names the step, the component, the device, what it needs and
 * the budget) or the config is unusable. */
int wh_plan_main(const char *path, const wh_plan_job *job, FILE *out,
                 FILE *err);

#endif /* WH_PLAN_H */
