/* ids.c: OIDs and UUIDs; see ids.h. */
#include "ids.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
cg_ids_is_oid(const char *s)
{
	if (s[0] < '0' || s[0] > '2' || s[1] != '.')
		return false;
	for (s += 2;;) {
		if (!is_digit(s[0]) || (s[0] == '0' && is_digit(s[1])))
			return false;
		while (is_digit(*s))
			s++;
		if (*s == '\0')
			return true;
		if (*s++ != '.')
			return false;
	}
}

bool
cg_ids_is_uuid(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[36] == '\0';
}
