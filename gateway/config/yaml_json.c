/* yaml_json.c: YAML to cJSON with positions; see yaml_json.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "yaml_json.h"

#define MAX_DEPTH 32

struct conv {
	yaml_document_t *doc;
	unsigned char *seen; /* per node: converted once already (an alias) */
	struct cg_yaml *y;
	size_t cap;
	char why[200];
	unsigned long line, column;
};

static int
remember(struct conv *c, const cJSON *node, const yaml_node_t *yn)
{
	if (c->y->npos == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cg_yaml_pos *p = realloc(c->y->pos, cap * sizeof(*p));

		if (!p)
			return -1;
		c->y->pos = p;
		c->cap = cap;
	}
	c->y->pos[c->y->npos].node = node;
	c->y->pos[c->y->npos].line = yn->start_mark.line + 1;
	c->y->pos[c->y->npos].column = yn->start_mark.column + 1;
	c->y->pos[c->y->npos].key_line = c->y->pos[c->y->npos].line;
	c->y->pos[c->y->npos].key_column = c->y->pos[c->y->npos].column;
	c->y->pos[c->y->npos].plain =
	        yn->type == YAML_SCALAR_NODE && yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	c->y->npos++;
	return 0;
}

static int
is_int(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0;

	if (!s[i] || strlen(s + i) > 15)
		return 0;
	for (; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The cJSON type of a plain (unquoted) scalar: YAML's core schema, kept to
 * what a configuration needs. */
static int
plain_type(const char *s)
{
	if (!strcmp(s, "true"))
		return cJSON_True;
	if (!strcmp(s, "false"))
		return cJSON_False;
	if (!strcmp(s, "null") || !strcmp(s, "~") || !s[0])
		return cJSON_NULL;
	if (is_int(s))
		return cJSON_Number;
	return cJSON_String;
}

static cJSON *
scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		switch (plain_type(s)) {
		case cJSON_True:
			return cJSON_CreateTrue();
		case cJSON_False:
			return cJSON_CreateFalse();
		case cJSON_NULL:
			return cJSON_CreateNull();
		case cJSON_Number:
			return cJSON_CreateNumber(strtod(s, NULL));
		default:
			break;
		}
	}
	return cJSON_CreateString(s);
}

static cJSON *
convert(struct conv *c, yaml_node_t *n, int depth)
{
	cJSON *out = NULL;

	if (!n)
		return NULL;
	/* libyaml resolves an alias to the node it names: meeting a node twice
	 * means an alias, refused (repeated aliases are how YAML bombs grow). */
	if (c->seen[n - c->doc->nodes.start]++) {
		snprintf(c->why, sizeof(c->why), "aliases (*name) are not accepted");
		c->line = n->start_mark.line + 1;
		c->column = n->start_mark.column + 1;
		return NULL;
	}
	if (depth > MAX_DEPTH) {
		snprintf(c->why, sizeof(c->why), "nested deeper than %d levels", MAX_DEPTH);
		c->line = n->start_mark.line + 1;
		c->column = n->start_mark.column + 1;
		return NULL;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		out = scalar(n);
		break;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;

		out = cJSON_CreateArray();
		for (it = n->data.sequence.items.start; out && it < n->data.sequence.items.top;
		     it++) {
			cJSON *v = convert(c, yaml_document_get_node(c->doc, *it), depth + 1);

			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			cJSON_AddItemToArray(out, v);
		}
		break;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *p;

		out = cJSON_CreateObject();
		for (p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			cJSON *v;

			if (!k || k->type != YAML_SCALAR_NODE) {
				snprintf(c->why, sizeof(c->why), "a key must be a plain string");
				c->line = k ? k->start_mark.line + 1 : n->start_mark.line + 1;
				c->column = k ? k->start_mark.column + 1 : n->start_mark.column + 1;
				cJSON_Delete(out);
				return NULL;
			}
			v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
			if (!v) {
				cJSON_Delete(out);
				return NULL;
			}
			/* AddItemToObject keeps repeated keys: cg_check_members reports them. */
			cJSON_AddItemToObject(out, (const char *)k->data.scalar.value, v);
			/* v was the last node remembered: note where its key is. */
			c->y->pos[c->y->npos - 1].key_line = k->start_mark.line + 1;
			c->y->pos[c->y->npos - 1].key_column = k->start_mark.column + 1;
		}
		break;
	}
	default:
		break;
	}
	if (out && remember(c, out, n)) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

enum cg_err
cg_yaml_load(const char *text, size_t len, struct cg_yaml *out, unsigned long *line,
             unsigned long *column, char **why)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct conv c;
	enum cg_err result = CG_OK;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	*line = *column = 0;
	if (!yaml_parser_initialize(&parser))
		return CG_ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		*line = parser.problem_mark.line + 1;
		*column = parser.problem_mark.column + 1;
		*why = strdup(parser.problem ? parser.problem : "not valid YAML");
		yaml_parser_delete(&parser);
		return CG_EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.doc = &doc;
	c.y = out;
	c.seen = calloc((size_t)(doc.nodes.top - doc.nodes.start) + 1, 1);
	if (!c.seen) {
		yaml_document_delete(&doc);
		yaml_parser_delete(&parser);
		return CG_ENOMEM;
	}
	/* libyaml resolves aliases into shared nodes; refuse them outright. */
	for (yaml_node_t *n = doc.nodes.start; n < doc.nodes.top; n++)
		if (n->tag && strcmp((const char *)n->tag, YAML_STR_TAG) != 0 &&
		    strcmp((const char *)n->tag, YAML_SEQ_TAG) != 0 &&
		    strcmp((const char *)n->tag, YAML_MAP_TAG) != 0) {
			snprintf(c.why, sizeof(c.why), "tags such as %s are not accepted",
			         (const char *)n->tag);
			c.line = n->start_mark.line + 1;
			c.column = n->start_mark.column + 1;
			result = CG_EINVAL;
			break;
		}
	if (!result) {
		yaml_document_t next;

		/* A second document would be ignored silently: refuse it. */
		if (yaml_parser_load(&parser, &next)) {
			if (yaml_document_get_root_node(&next)) {
				snprintf(c.why, sizeof(c.why),
				         "only one YAML document is accepted");
				c.line = yaml_document_get_root_node(&next)->start_mark.line + 1;
				c.column = 1;
				result = CG_EINVAL;
			}
			yaml_document_delete(&next);
		}
	}
	if (!result) {
		yaml_node_t *root = yaml_document_get_root_node(&doc);

		if (!root) {
			snprintf(c.why, sizeof(c.why), "the file holds no document");
			c.line = c.column = 1;
			result = CG_EINVAL;
		} else if (!(out->root = convert(&c, root, 0))) {
			result = c.why[0] ? CG_EINVAL : CG_ENOMEM;
		}
	}
	if (result) {
		*line = c.line;
		*column = c.column;
		*why = strdup(c.why[0] ? c.why : "out of memory");
		cg_yaml_free(out);
	}
	free(c.seen);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return result;
}

void
cg_yaml_free(struct cg_yaml *y)
{
	cJSON_Delete(y->root);
	free(y->pos);
	memset(y, 0, sizeof(*y));
}

bool
cg_yaml_is_plain(const struct cg_yaml *y, const cJSON *node)
{
	size_t i;

	for (i = 0; i < y->npos; i++)
		if (y->pos[i].node == node)
			return y->pos[i].plain;
	return 0;
}

void
cg_yaml_type_plain(cJSON *node)
{
	int type;
	double v;

	if (!cJSON_IsString(node) || (type = plain_type(node->valuestring)) == cJSON_String)
		return;
	v = type == cJSON_Number ? strtod(node->valuestring, NULL) : 0;
	cJSON_free(node->valuestring);
	node->valuestring = NULL;
	/* The flags above the type (a constant key, say) are the key's: kept. */
	node->type = (node->type & ~0xFF) | type;
	node->valueint = 0;
	node->valuedouble = 0;
	if (type == cJSON_Number)
		cJSON_SetNumberValue(node, v);
}

void
cg_yaml_where(const struct cg_yaml *y, const cJSON *node, int at_key, unsigned long *line,
              unsigned long *column)
{
	size_t i;

	*line = *column = 0;
	for (i = 0; i < y->npos; i++)
		if (y->pos[i].node == node) {
			*line = at_key ? y->pos[i].key_line : y->pos[i].line;
			*column = at_key ? y->pos[i].key_column : y->pos[i].column;
			return;
		}
}
