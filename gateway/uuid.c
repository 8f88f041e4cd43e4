/*
 * uuid.c: version 5 UUIDs; see uuid.h.
 *
 * SHA-1 is written out here (RFC 3174) rather than taken from OpenSSL: a
 * mapped record needs a UUID per resource, and OpenSSL's EVP dispatch cost
 * more than the hash of a 60-byte name. On CPUs with the SHA extensions the
 * block function uses them (four times faster here: the UUIDs were a tenth
 * of `map --to fhir`). tests/unit/test_uuid.c checks both block functions
 * against OpenSSL on many inputs, and against a known UUID.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define CG_SHA_NI 1
#endif

#include "uuid.h"

/* cellgate's namespace, chosen at random once; never change it, or every
 * fullUrl the gateway ever produced changes with it. */
static const unsigned char namespace_id[16] = {0x3e, 0x4c, 0x1a, 0x9d, 0x52, 0x0b, 0x47, 0xd1,
                                               0x8f, 0x6a, 0x2e, 0x71, 0xc9, 0x35, 0xb0, 0x84};

struct sha1 {
	uint32_t h[5];
	unsigned char block[64];
	size_t used;    /* bytes in block */
	uint64_t total; /* bytes hashed */
};

static uint32_t
rol(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void
sha1_block_portable(struct sha1 *s, const unsigned char *p)
{
	uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		/* The four rounds as four loops: no branch inside. */
#define ROUND(f, k)                                                                                \
	do {                                                                                       \
		uint32_t t = rol(a, 5) + (f) + e + (k) + w[i];                                     \
		e = d;                                                                             \
		d = c;                                                                             \
		c = rol(b, 30);                                                                    \
		b = a;                                                                             \
		a = t;                                                                             \
	} while (0)
	for (i = 0; i < 20; i++)
		ROUND((b & c) | (~b & d), 0x5a827999);
	for (; i < 40; i++)
		ROUND(b ^ c ^ d, 0x6ed9eba1);
	for (; i < 60; i++)
		ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdc);
	for (; i < 80; i++)
		ROUND(b ^ c ^ d, 0xca62c1d6);
#undef ROUND
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

#ifdef CG_SHA_NI
/* The same with the SHA extensions (Intel's published sequence): four
 * rounds per sha1rnds4, the message schedule by sha1msg1/sha1msg2. */
__attribute__((target("sha,sse4.1"))) static void
sha1_block_ni(struct sha1 *s, const unsigned char *p)
{
	const __m128i mask = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);
	__m128i abcd, abcd_save, e0, e0_save, e1, m0, m1, m2, m3;

	abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)s->h), 0x1b);
	e0 = _mm_set_epi32((int)s->h[4], 0, 0, 0);
	abcd_save = abcd;
	e0_save = e0;
	/* rounds 0-11: the first three quarters of the message come in */
	m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), mask);
	e0 = _mm_add_epi32(e0, m0);
	e1 = abcd;
	abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
	m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), mask);
	e1 = _mm_sha1nexte_epu32(e1, m1);
	e0 = abcd;
	abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
	m0 = _mm_sha1msg1_epu32(m0, m1);
	m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), mask);
	e0 = _mm_sha1nexte_epu32(e0, m2);
	e1 = abcd;
	abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
	m1 = _mm_sha1msg1_epu32(m1, m2);
	m0 = _mm_xor_si128(m0, m2);
	m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), mask);
	/* rounds 12-79: the same step, the registers turning round. The last
	 * steps compute schedule words nobody reads, which costs less than a
	 * special case. */
#define STEP(f, ex, ey, cur, next, prev, prev2)                                                    \
	do {                                                                                       \
		ex = _mm_sha1nexte_epu32(ex, cur);                                                 \
		ey = abcd;                                                                         \
		next = _mm_sha1msg2_epu32(next, cur);                                              \
		abcd = _mm_sha1rnds4_epu32(abcd, ex, f);                                           \
		prev = _mm_sha1msg1_epu32(prev, cur);                                              \
		prev2 = _mm_xor_si128(prev2, cur);                                                 \
	} while (0)
	STEP(0, e1, e0, m3, m0, m2, m1); /* 12-15 */
	STEP(0, e0, e1, m0, m1, m3, m2); /* 16-19 */
	STEP(1, e1, e0, m1, m2, m0, m3);
	STEP(1, e0, e1, m2, m3, m1, m0);
	STEP(1, e1, e0, m3, m0, m2, m1);
	STEP(1, e0, e1, m0, m1, m3, m2);
	STEP(1, e1, e0, m1, m2, m0, m3); /* 36-39 */
	STEP(2, e0, e1, m2, m3, m1, m0);
	STEP(2, e1, e0, m3, m0, m2, m1);
	STEP(2, e0, e1, m0, m1, m3, m2);
	STEP(2, e1, e0, m1, m2, m0, m3);
	STEP(2, e0, e1, m2, m3, m1, m0); /* 56-59 */
	STEP(3, e1, e0, m3, m0, m2, m1);
	STEP(3, e0, e1, m0, m1, m3, m2);
	STEP(3, e1, e0, m1, m2, m0, m3);
	STEP(3, e0, e1, m2, m3, m1, m0);
	STEP(3, e1, e0, m3, m0, m2, m1); /* 76-79 */
#undef STEP
	e0 = _mm_sha1nexte_epu32(e0, e0_save);
	abcd = _mm_add_epi32(abcd, abcd_save);
	_mm_storeu_si128((__m128i *)(void *)s->h, _mm_shuffle_epi32(abcd, 0x1b));
	s->h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static int
have_sha_ni(void)
{
	unsigned a, b, c, d;

	/* SHA (leaf 7, EBX bit 29) and SSE4.1 (leaf 1, ECX bit 19). */
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
		return 0;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19));
}
#endif

static atomic_int use_portable = -1; /* -1: not decided yet */

void
cg_sha1_force_portable(int on)
{
	atomic_store_explicit(&use_portable, on ? 1 : -1, memory_order_relaxed);
}

static void
sha1_block(struct sha1 *s, const unsigned char *p)
{
#ifdef CG_SHA_NI
	int portable = atomic_load_explicit(&use_portable, memory_order_relaxed);

	if (portable < 0) {
		portable = !have_sha_ni();
		atomic_store_explicit(&use_portable, portable, memory_order_relaxed);
	}
	if (!portable) {
		sha1_block_ni(s, p);
		return;
	}
#endif
	sha1_block_portable(s, p);
}

static void
sha1_init(struct sha1 *s)
{
	s->h[0] = 0x67452301;
	s->h[1] = 0xefcdab89;
	s->h[2] = 0x98badcfe;
	s->h[3] = 0x10325476;
	s->h[4] = 0xc3d2e1f0;
	s->used = 0;
	s->total = 0;
}

static void
sha1_update(struct sha1 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->total += len;
	while (len) {
		size_t n = 64 - s->used < len ? 64 - s->used : len;

		memcpy(s->block + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used == 64) {
			sha1_block(s, s->block);
			s->used = 0;
		}
	}
}

static void
sha1_final(struct sha1 *s, unsigned char out[20])
{
	uint64_t bits = s->total * 8;
	int i;

	/* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
	s->block[s->used++] = 0x80;
	if (s->used > 56) {
		memset(s->block + s->used, 0, 64 - s->used);
		sha1_block(s, s->block);
		s->used = 0;
	}
	memset(s->block + s->used, 0, 56 - s->used);
	for (i = 0; i < 8; i++)
		s->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_block(s, s->block);
	for (i = 0; i < 20; i++)
		out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

void
cg_sha1(const void *data, size_t len, unsigned char out[20])
{
	struct sha1 s;

	sha1_init(&s);
	sha1_update(&s, data, len);
	sha1_final(&s, out);
}

static void
format(unsigned char md[20], char out[CG_UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[md[i] >> 4];
		out[o++] = hex[md[i] & 15];
	}
	out[o] = '\0';
}

enum cg_err
cg_uuid_v5(const char *name, size_t len, char out[CG_UUID_STRLEN + 1])
{
	unsigned char md[20];
	struct sha1 s;

	sha1_init(&s);
	sha1_update(&s, namespace_id, sizeof(namespace_id));
	sha1_update(&s, name, len);
	sha1_final(&s, md);
	format(md, out);
	return CG_OK;
}

void
cg_uuid_v5_prefix(struct cg_uuid_prefix *p, const char *prefix, size_t len)
{
	struct sha1 s;

	_Static_assert(sizeof(struct sha1) <= sizeof(p->state), "cg_uuid_prefix too small");
	sha1_init(&s);
	sha1_update(&s, namespace_id, sizeof(namespace_id));
	sha1_update(&s, prefix, len);
	memcpy(p->state, &s, sizeof(s));
}

void
cg_uuid_v5_suffix(const struct cg_uuid_prefix *p, const char *suffix, size_t len,
                  char out[CG_UUID_STRLEN + 1])
{
	unsigned char md[20];
	struct sha1 s;

	memcpy(&s, p->state, sizeof(s));
	sha1_update(&s, suffix, len);
	sha1_final(&s, md);
	format(md, out);
}
