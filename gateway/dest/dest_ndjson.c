/* dest_ndjson.c: the ndjson destination's writer thread; see dest_ndjson.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "buf.h"
#include "check.h"
#include "dest_ndjson.h"
#include "json_write.h"

struct open_file {
	char path[PATH_MAX];
	int fd;
	int touched;  /* written in this group: sync it */
	off_t before; /* its size before the current job */
	int job_seen; /* the current job has written to it */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct cg_ndjson_job *queue, **queue_tail = &queue;
static int stopping, running;
static pthread_t thread;
/* The files of the day, open (destinations x kinds: bounded by the
 * configuration and the FHIR resource types). Closed when the day changes. */
static struct open_file *files;
static size_t nfiles, cap_files;
static char today[16];

static void
close_all(void)
{
	size_t i;

	for (i = 0; i < nfiles; i++)
		close(files[i].fd);
	nfiles = 0;
}

static struct open_file *
file_for(const char *folder, const char *kind, int *err)
{
	char path[PATH_MAX];
	struct open_file *f;
	size_t i;

	/* A cut path would be another file: refused, never written. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s-%s.ndjson", folder, kind, today) >=
	    sizeof(path)) {
		*err = ENAMETOOLONG;
		return NULL;
	}
	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return &files[i];
	if (nfiles == cap_files) {
		size_t cap = cap_files ? cap_files * 2 : 8;
		struct open_file *v = realloc(files, cap * sizeof(*v));

		if (!v) {
			*err = ENOMEM;
			return NULL;
		}
		files = v;
		cap_files = cap;
	}
	f = &files[nfiles];
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (f->fd < 0) {
		*err = errno;
		return NULL;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->touched = f->job_seen = 0;
	nfiles++;
	return f;
}

static int
append(struct cg_ndjson_job *job, const char *kind, const char *text, size_t len)
{
	struct open_file *f;
	int err = 0;
	const char *p = text;
	size_t left = len;

	f = file_for(job->folder, kind, &err);
	if (!f)
		return err;
	if (!f->job_seen) {
		struct stat st;

		if (fstat(f->fd, &st))
			return errno;
		f->before = st.st_size;
		f->job_seen = 1;
	}
	f->touched = 1;
	/* Sized for the longest type name (dest_ndjson.h); checked all the same. */
	if ((size_t)snprintf(job->file, sizeof(job->file), "%s-%s.ndjson", kind, today) >=
	    sizeof(job->file))
		return ENAMETOOLONG;
	while (left) {
		ssize_t w = write(f->fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		p += w;
		left -= (size_t)w;
	}
	return 0;
}

/* A Bundle's entries go to the file of each resource's type, one a line. */
static int
append_bundle(struct cg_ndjson_job *job, const char *text, size_t len)
{
	cJSON *b = cJSON_ParseWithLength(text, len), *e;
	struct cg_buf line;
	int err = 0;

	if (!b)
		return EINVAL;
	cg_buf_init(&line, CG_BUF_MAX_ITEMS);
	cJSON_ArrayForEach(e, cg_json_member(b, "entry"))
	{
		const cJSON *r = cg_json_member(e, "resource");
		const char *rt = cJSON_GetStringValue(cg_json_member(r, "resourceType"));

		if (!rt)
			continue;
		cg_buf_reset(&line);
		if (cg_jw_write_tree(&line, r) || cg_buf_addc(&line, '\n')) {
			err = ENOMEM;
			break;
		}
		if ((err = append(job, rt, line.p, line.len)) != 0)
			break;
	}
	cg_buf_free(&line);
	cJSON_Delete(b);
	return err;
}

static void
run_job(struct cg_ndjson_job *job)
{
	const struct cg_batch *o = &job->items;
	size_t i;
	int err = 0;

	for (i = 0; i < nfiles; i++)
		files[i].job_seen = 0;
	for (i = 0; i < o->n && !err; i++) {
		const struct cg_item *it = &o->item[i];
		const char *text = o->data + it->off;

		if (strcmp(it->type, "Bundle") == 0)
			err = append_bundle(job, text, it->len);
		else
			err = append(job, strcmp(it->type, "record") == 0 ? "records" : it->type,
			             text, it->len + 1);
	}
	if (err) /* nothing of a failed job stays */
		for (i = 0; i < nfiles; i++)
			if (files[i].job_seen && ftruncate(files[i].fd, files[i].before))
				err = errno ? errno : err;
	job->error = err;
}

static void
set_today(void)
{
	time_t now = time(NULL);
	struct tm tm;
	char d[16];

	gmtime_r(&now, &tm);
	strftime(d, sizeof(d), "%Y-%m-%d", &tm);
	if (strcmp(d, today) != 0) {
		close_all(); /* a new day, new files */
		memcpy(today, d, sizeof(today));
	}
}

static void *
writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct cg_ndjson_job *group, *j, *next;
		size_t i;
		int sync_err = 0;

		while (!queue && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (!queue && stopping)
			break;
		group = queue;
		queue = NULL;
		queue_tail = &queue;
		pthread_mutex_unlock(&lock);

		set_today();
		for (j = group; j; j = j->next)
			run_job(j);
		/* One sync per file for the whole group. */
		for (i = 0; i < nfiles; i++)
			if (files[i].touched) {
				if (fdatasync(files[i].fd))
					sync_err = errno;
				files[i].touched = 0;
			}
		for (j = group; j; j = next) {
			next = j->next;
			if (!j->error && sync_err)
				j->error = sync_err;
			event_active(j->done, EV_WRITE, 1);
		}
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	close_all();
	free(files);
	files = NULL;
	cap_files = 0;
	return NULL;
}

enum cg_err
cg_ndjson_start(void)
{
	if (running)
		return CG_OK;
	stopping = 0;
	if (pthread_create(&thread, NULL, writer, NULL))
		return CG_ENOMEM;
	running = 1;
	return CG_OK;
}

void
cg_ndjson_submit(struct cg_ndjson_job *job)
{
	job->next = NULL;
	job->error = 0;
	job->file[0] = 0;
	pthread_mutex_lock(&lock);
	*queue_tail = job;
	queue_tail = &job->next;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

void
cg_ndjson_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = 0;
}

bool
cg_ndjson_is_writable(const char *folder)
{
	return access(folder, W_OK | X_OK) == 0;
}
