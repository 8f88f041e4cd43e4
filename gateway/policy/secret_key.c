/* secret_key.c: a secret key from a file, and HMACs under it; see
 * secret_key.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "secret_key.h"

void
cg_secret_key_free(struct cg_secret_key *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

enum cg_err
cg_secret_key_load(const char *path, struct cg_secret_key **out, char *why, size_t whylen)
{
	struct cg_secret_key *k;
	struct stat st;
	unsigned char buf[CG_SECRET_KEY_MAX + 3];
	ssize_t got = 0;
	size_t len = 0;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot read the key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CG_EIO;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		snprintf(why, whylen,
		         "the key file %s must be a regular file readable by its owner only "
		         "(chmod 600)",
		         path);
		close(fd);
		return CG_EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return CG_ENOMEM;
	}
	/* Up to the maximum, its line end and one byte more: a longer file is
	 * refused, not cut. */
	while (len < sizeof(buf)) {
		got = read(fd, buf + len, sizeof(buf) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	if (got < 0) {
		snprintf(why, whylen, "cannot read the key file %s: %s", path, strerror(errno));
		OPENSSL_cleanse(buf, sizeof(buf));
		cg_secret_key_free(k);
		return CG_EIO;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len < CG_SECRET_KEY_MIN || len > CG_SECRET_KEY_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(why, whylen,
		         "the key file %s must hold %d to %d bytes (e.g. `openssl rand -hex 32`)",
		         path, CG_SECRET_KEY_MIN, CG_SECRET_KEY_MAX);
		cg_secret_key_free(k);
		return CG_EINVAL;
	}
	memcpy(k->bytes, buf, len);
	OPENSSL_cleanse(buf, sizeof(buf));
	k->len = len;
	*out = k;
	return CG_OK;
}

/* Appends s to msg at *at, escaped when esc; -1 when it does not fit. */
static int
put(char *msg, size_t size, size_t *at, const char *s, int esc)
{
	for (; *s; s++) {
		const char *w = NULL;
		size_t n = 1;

		if (esc && *s == '%')
			w = "%25", n = 3;
		else if (esc && *s == '|')
			w = "%7C", n = 3;
		if (*at + n >= size)
			return -1;
		memcpy(msg + *at, w ? w : s, n);
		*at += n;
	}
	return 0;
}

enum cg_err
cg_secret_key_derive(const struct cg_secret_key *k, const char *const *parts, size_t n,
                     unsigned char out[CG_HMAC_LEN])
{
	char msg[4096];
	size_t i, at = 0;
	unsigned int olen = 0;
	int ok;

	for (i = 0; i < n; i++) {
		if ((i && put(msg, sizeof(msg), &at, "|", 0)) ||
		    put(msg, sizeof(msg), &at, parts[i] ? parts[i] : "", i + 1 < n)) {
			OPENSSL_cleanse(msg, at); /* what was written of it */
			return CG_ELIMIT;         /* the input's fault: never "out of memory" */
		}
	}
	ok = HMAC(EVP_sha256(), k->bytes, (int)k->len, (const unsigned char *)msg, at, out,
	          &olen) != NULL &&
	     olen == CG_HMAC_LEN;
	OPENSSL_cleanse(msg, at); /* what was written of it */
	return ok ? CG_OK : CG_ENOMEM;
}

void
cg_hex(const unsigned char *h, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * len] = 0;
}
