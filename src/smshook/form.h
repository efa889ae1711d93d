/* form.h: application/x-www-form-urlencoded bodies as a JSON object. */
#ifndef SMSHOOK_FORM_H
#define SMSHOOK_FORM_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Decode body into a new object of strings; a field given more than once
 * becomes an array of its values in order. Returns the object, or NULL
 * with a static reason in *why (broken escape, invalid UTF-8, NUL), or
 * with *why NULL when out of memory.
 */
cJSON	*form_parse(const char *body, size_t len, const char **why);

#endif
