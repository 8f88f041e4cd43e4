/* clock.c: milliseconds of the wall and monotonic clocks; see clock.h. */
#include <time.h>

#include "clock.h"

static int64_t
ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t
cg_clock_wall_ms(void)
{
	return ms(CLOCK_REALTIME);
}

int64_t
cg_clock_mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

double
cg_clock_mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
