/* map: a string-keyed hash map (chained, FNV-1a) of borrowed void * values.
 *
 * Keys are copied; values are the caller's (a free function given at creation frees the
 * values the map drops on remove, replace and free). Iteration order is unspecified; a map
 * must not be changed during iteration except by removing the entry just returned. */
#ifndef CK_BASE_MAP_H
#define CK_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ck_map ck_map;

/* free_value may be NULL. */
ck_map *ck_map_new(void (*free_value)(void *));
/* Frees every entry and the map; accepts NULL; returns NULL. */
ck_map *ck_map_free(ck_map *m);
void ck_map_freep(ck_map **m);
#define _cleanup_map_ _cleanup_(ck_map_freep)

/* Value for key or NULL. */
void *ck_map_get(const ck_map *m, const char *key);
bool ck_map_contains(const ck_map *m, const char *key);
/* Sets key to value, freeing a previous value. */
void ck_map_set(ck_map *m, const char *key, void *value);
/* Removes key and returns its value without freeing it (NULL when absent). */
void *ck_map_take(ck_map *m, const char *key);
/* Removes key, freeing its value. Returns true when it was present. */
bool ck_map_remove(ck_map *m, const char *key);
size_t ck_map_len(const ck_map *m);

typedef struct ck_map_iter {
	size_t bucket;
	void *entry;
	void *next;
} ck_map_iter;
#define CK_MAP_ITER_INIT                                                                           \
	{                                                                                          \
		0                                                                                  \
	}
/* Advances it; returns false at the end. key and value may be NULL. */
bool ck_map_next(const ck_map *m, ck_map_iter *it, const char **key, void **value);

#endif
