/*
 * Berth runtime: typed access to a json-c tree, for config.json and the objects in it.
 *
 * Every accessor checks the type (and range) of what it reads and, on failure, returns
 * -1 with a validation error (op "config", status 0) that names the field's JSON path
 * ("linux.resources.memory.limit") and what is wrong with it.  `where`/`parent` is that
 * path; "" is the top level.
 */
#ifndef BERTH_CONFIG_JSON_H
#define BERTH_CONFIG_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CONFIG_OP "config"

/* A validation error: op "config", status 0, the formatted message.  Returns -1.  */
int cfg_error (berth_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* "parent.key" ("key" when parent is ""), and "parent[i]"; allocated.  */
char *cfg_field_path (const char *parent, const char *key);
char *cfg_element_path (const char *parent, size_t i);

/* Free a NULL-terminated vector of strings (NULL is fine).  */
void cfg_free_strv (char **v);

void cleanup_jsonp (json_object **o);
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))

/* The member `key` of obj, or NULL when it is absent or null.  */
json_object *cfg_member (json_object *obj, const char *key);

/* A string without NUL characters.  */
bool cfg_is_string (json_object *v);

int cfg_require_object (json_object *v, const char *where, berth_error_t *err);
int cfg_require_array (json_object *v, const char *where, berth_error_t *err);

/* A string without NUL characters, borrowed from v.  */
int cfg_get_string (json_object *v, const char *where, const char **out, berth_error_t *err);
int cfg_get_int (json_object *v, const char *where, int64_t min, int64_t max, int64_t *out,
                 berth_error_t *err);
int cfg_get_uint64 (json_object *v, const char *where, uint64_t *out, berth_error_t *err);
/* An array of strings, copied into a new NULL-terminated vector.  */
int cfg_get_strv (json_object *v, const char *where, bool non_empty, char ***out, berth_error_t *err);

/* Optional members: absent (or null) leaves *out alone and sets *present (when given) to
   false.  req_* report a missing member as "... is required".  */
int cfg_opt_string (json_object *obj, const char *parent, const char *key, char **out,
                    berth_error_t *err);
int cfg_opt_bool (json_object *obj, const char *parent, const char *key, bool *out, berth_error_t *err);
int cfg_opt_int (json_object *obj, const char *parent, const char *key, int64_t min, int64_t max,
                 int64_t *out, bool *present, berth_error_t *err);
int cfg_req_int (json_object *obj, const char *parent, const char *key, int64_t min, int64_t max,
                 int64_t *out, berth_error_t *err);
int cfg_opt_strv (json_object *obj, const char *parent, const char *key, char ***out,
                  berth_error_t *err);

/* An object of strings (linux.sysctl, annotations) into two parallel arrays, in file order.  */
int cfg_get_string_map (json_object *v, const char *where, char ***keys, char ***values, size_t *n,
                        berth_error_t *err);

#endif
