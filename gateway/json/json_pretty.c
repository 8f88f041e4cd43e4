/* json_pretty.c: two-space indentation for compact JSON; see json_pretty.h. */
#include "json_pretty.h"

static enum cg_err
newline(struct cg_buf *b, int depth)
{
	enum cg_err result = cg_buf_addc(b, '\n');
	int i;

	for (i = 0; i < depth && !result; i++)
		result = cg_buf_add(b, "  ", 2);
	return result;
}

enum cg_err
cg_json_pretty(const char *s, struct cg_buf *b)
{
	enum cg_err result = cg_buf_add(b, "", 0);
	int depth = 0, in_string = 0;

	for (; *s && !result; s++) {
		char c = *s;

		if (in_string) {
			result = cg_buf_addc(b, c);
			if (c == '\\' && s[1])
				result = result ? result : cg_buf_addc(b, *++s);
			else if (c == '"')
				in_string = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			result = cg_buf_addc(b, c);
			break;
		case '{':
		case '[':
			result = cg_buf_addc(b, c);
			if (!result && (s[1] == '}' || s[1] == ']'))
				result = cg_buf_addc(b, *++s); /* empty: stays {} or [] */
			else if (!result)
				result = newline(b, ++depth);
			break;
		case '}':
		case ']':
			result = newline(b, --depth);
			if (!result)
				result = cg_buf_addc(b, c);
			break;
		case ',':
			result = cg_buf_addc(b, c);
			if (!result)
				result = newline(b, depth);
			break;
		case ':':
			result = cg_buf_add(b, ": ", 2);
			break;
		default:
			result = cg_buf_addc(b, c);
		}
	}
	return result;
}
