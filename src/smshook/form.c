/* form.c: strict percent-decoding; every value must be UTF-8 without NUL. */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "utf8.h"

#define FORM_MAX_FIELDS	1024	/* an event has about 15 */

/* Decode s[0..len) into out (len + 1 bytes); -1 with *why on bad input. */
static int
decode(const char *s, size_t len, char *out, const char **why)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else if (len - i >= 3 &&
		    (hi = hex_value((unsigned char)s[i + 1])) != -1 &&
		    (lo = hex_value((unsigned char)s[i + 2])) != -1) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*why = "broken %-escape in form body";
			return -1;
		}
	}
	out[o] = '\0';
	if (!utf8_valid(out, o)) {
		*why = memchr(out, '\0', o) != NULL ? "NUL byte in form field" :
		    "invalid UTF-8 in form field";
		return -1;
	}
	return 0;
}

/* Add name = value to obj, turning a repeated name into an array. */
static int
add_field(cJSON *obj, const char *name, const char *value)
{
	cJSON *old, *v, *arr, *first;

	if ((v = cJSON_CreateString(value)) == NULL)
		return -1;
	if ((old = cJSON_GetObjectItemCaseSensitive(obj, name)) == NULL) {
		if (cJSON_AddItemToObject(obj, name, v))
			return 0;
		cJSON_Delete(v);
		return -1;
	}
	if (cJSON_IsArray(old)) {
		if (cJSON_AddItemToArray(old, v))
			return 0;
		cJSON_Delete(v);
		return -1;
	}
	if ((arr = cJSON_CreateArray()) == NULL ||
	    (first = cJSON_CreateString(old->valuestring)) == NULL) {
		cJSON_Delete(arr);
		cJSON_Delete(v);
		return -1;
	}
	cJSON_AddItemToArray(arr, first);
	cJSON_AddItemToArray(arr, v);
	/* in place, so the field keeps its first position */
	if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, name, arr)) {
		cJSON_Delete(arr);
		return -1;
	}
	/* cJSON replaces even when it could not copy the name: obj owns
	 * arr now, nameless, and frees it with the rest */
	return arr->string != NULL ? 0 : -1;
}

cJSON *
form_parse(const char *body, size_t len, const char **why)
{
	cJSON *obj = NULL;
	char *name = NULL, *value = NULL;
	const char *p = body, *end = body + len, *amp, *eq;
	size_t nfields = 0;

	if ((obj = cJSON_CreateObject()) == NULL ||
	    (name = malloc(len + 1)) == NULL ||
	    (value = malloc(len + 1)) == NULL)
		goto nomem;
	for (; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;			/* "&&" */
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;			/* "name" alone: "" */
		if (eq == p) {
			*why = "form field without a name";
			goto fail;
		}
		if (++nfields > FORM_MAX_FIELDS) {
			*why = "too many form fields";
			goto fail;
		}
		if (decode(p, (size_t)(eq - p), name, why) == -1 ||
		    decode(eq == amp ? eq : eq + 1,
		    eq == amp ? 0 : (size_t)(amp - eq - 1), value, why) == -1)
			goto fail;
		if (add_field(obj, name, value) == -1)
			goto nomem;
	}
	free(name);
	free(value);
	return obj;
 nomem:
	*why = NULL;
 fail:
	cJSON_Delete(obj);
	free(name);
	free(value);
	return NULL;
}
