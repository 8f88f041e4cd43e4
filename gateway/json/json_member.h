/*
 * json_member.h: looking a member up in a cJSON object the way cellgate
 * reads JSON: case-sensitive (unlike cJSON_GetObjectItem) and the first of
 * a name (the validators report duplicates themselves).
 */
#ifndef CG_JSON_MEMBER_H
#define CG_JSON_MEMBER_H

struct cJSON;

/* The first member of obj called name, or NULL (also when obj is not an
 * object). */
const struct cJSON *cg_json_member(const struct cJSON *obj, const char *name);

#endif
