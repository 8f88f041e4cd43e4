/*
 * curl_post.c: libcurl alone, for tests/bench/proxy.sh: POSTs one file's
 * bytes to a URL COUNT times, 32 transfers in flight on one multi handle,
 * one thread, connections kept alive; prints {"requests_per_second": N}.
 * It is the floor under the gateway's forwarding: what libcurl costs per
 * upstream request with nothing else around it.
 *   curl_post URL FILE COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct curl_slist *headers = NULL;
	static char body[1 << 20];
	size_t len;
	long total, started = 0, done = 0, failed = 0;
	int running;
	FILE *f;
	CURLM *multi;
	double t0;

	if (argc != 4 || !(f = fopen(argv[2], "rb"))) {
		fprintf(stderr, "usage: curl_post URL FILE COUNT\n");
		return 2;
	}
	len = fread(body, 1, sizeof(body), f);
	fclose(f);
	total = atol(argv[3]);
	headers = curl_slist_append(headers, "Content-Type: application/fhir+json");
	headers = curl_slist_append(headers, "Expect:");
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 256L);
	t0 = now();
	while (done < total) {
		CURLMsg *msg;
		int left;

		for (; started - done < 32 && started < total; started++) {
			CURL *e = curl_easy_init();

			curl_easy_setopt(e, CURLOPT_URL, argv[1]);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
			curl_multi_add_handle(multi, e);
		}
		curl_multi_perform(multi, &running);
		curl_multi_poll(multi, NULL, 0, 100, NULL);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			failed += msg->data.result != CURLE_OK || status / 100 != 2;
			curl_multi_remove_handle(multi, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			done++;
		}
	}
	printf("{\"requests_per_second\": %.0f, \"failed\": %ld}\n", (double)total / (now() - t0),
	       failed);
	curl_multi_cleanup(multi);
	curl_slist_free_all(headers);
	return failed ? 1 : 0;
}
