/*
 * host/admission.h — is there room for a job? Before a job is accepted
 * (POST) and again before it starts, every component call of the job is
 * estimated for the job's shape in the placement it could run in (`auto`:
 * the smaller of resident and stream) and checked against its device's
 * budget minus what the other components hold and cannot give up (an
 * `auto` component of no higher priority can move to stream). A job that
 * can never fit is refused with the component, the device and the bytes.
 *
 * Threads: blocking (estimates of running instances go through their
 * device executors). Not on the loop thread, not on an executor. Holds
 * rt->commit_lock for reading, so no commit replaces a component under it.
 */
#ifndef WH_ADMISSION_H
#define WH_ADMISSION_H

#include "pipeline.h"
#include "runtime.h"

/* 0 when p (resolved) fits; WARM_ENOSPACE with the reason in err when it
 * cannot; another code when an estimate failed. */
int wh_admission_check(wh_runtime *rt, const wh_job_params *p,
                       warm_error *err);

#endif /* WH_ADMISSION_H */
