/*
 * clock.h: the two clocks the gateway reads, in milliseconds: the wall clock
 * for times that are stored or shown (a message's acceptance, its next
 * attempt), the monotonic one for durations and intervals (which a change
 * of the system's time must not stretch or shrink).
 */
#ifndef CG_CLOCK_H
#define CG_CLOCK_H

#include <stdint.h>

int64_t cg_clock_wall_ms(void);
int64_t cg_clock_mono_ms(void);
/* The monotonic clock in seconds, to the nanosecond: short durations
 * measured for histograms (a commit, a claim). */
double cg_clock_mono_s(void);

#endif
