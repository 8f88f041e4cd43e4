/*
 * fsync_rate.c: how many durable writes a second the disk under FOLDER
 * takes, for tests/bench/outbox.sh: COUNT times, 4 KB written then
 * fdatasync, one thread, in a new file in FOLDER (the outbox's), two ways:
 *   - in place: the same 4 KB rewritten (what a WAL rewritten from its
 *     start after a checkpoint asks of the disk);
 *   - appending: the file grows by 4 KB each time, so each fdatasync also
 *     commits the file's new size (what a growing WAL asks).
 * This is the ceiling of one-commit-per-request durability: each request
 * that waits for its own fsync gets at most this many a second. Prints
 *   {"in_place_per_s": A, "append_per_s": B, "in_place_us": C, "append_us": D}
 *   fsync_rate FOLDER COUNT
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds for count writes of 4 KB each followed by fdatasync. */
static double
run(int fd, long count, int append)
{
	static char page[4096];
	double t0;
	long i;

	memset(page, 'x', sizeof(page));
	if (ftruncate(fd, 0))
		return -1;
	t0 = mono();
	for (i = 0; i < count; i++) {
		off_t at = append ? (off_t)i * (off_t)sizeof(page) : 0;

		if (pwrite(fd, page, sizeof(page), at) != (ssize_t)sizeof(page) || fdatasync(fd))
			return -1;
	}
	return mono() - t0;
}

int
main(int argc, char **argv)
{
	char path[4200];
	long count;
	int fd;
	double in_place, append;

	if (argc != 3 || (count = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: fsync_rate FOLDER COUNT\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fsync_rate.tmp", argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	run(fd, count / 10, 0); /* warm-up: the file's first block allocated */
	in_place = run(fd, count, 0);
	append = run(fd, count, 1);
	close(fd);
	unlink(path);
	if (in_place <= 0 || append <= 0) {
		fprintf(stderr, "fsync_rate: write or fdatasync failed\n");
		return 1;
	}
	printf("{\"in_place_per_s\": %.0f, \"append_per_s\": %.0f, \"in_place_us\": %.0f, "
	       "\"append_us\": %.0f}\n",
	       (double)count / in_place, (double)count / append, in_place * 1e6 / (double)count,
	       append * 1e6 / (double)count);
	return 0;
}
