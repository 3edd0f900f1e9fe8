#ifndef CJANSSON_SHIM_H
#define CJANSSON_SHIM_H
#include <jansson.h>

/// `JSON_REAL_PRECISION` is a function-like macro and does not import.
static inline size_t CJansson_dumpFlags(int precision) {
    return (size_t)(JSON_COMPACT | JSON_REAL_PRECISION(precision));
}

/// `json_typeof` is a macro.
static inline json_type CJansson_typeof(const json_t *value) {
    return json_typeof(value);
}
#endif
