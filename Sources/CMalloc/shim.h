#ifndef CMALLOC_SHIM_H
#define CMALLOC_SHIM_H
#include <malloc.h>

/// glibc's `mallopt(M_ARENA_MAX, arenas)`; `malloc.h` is not part of Swift's Glibc module.
/// Answers 1 on success, 0 when refused.
static inline int CMalloc_setArenaLimit(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
#endif
