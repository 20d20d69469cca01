/* map: chained hash table. See map.h. */
#include "base/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct entry {
	struct entry *next;
	uint64_t hash;
	void *value;
	char key[];
} entry;

struct ck_map {
	entry **buckets;
	size_t n_buckets; /* power of two */
	size_t len;
	void (*free_value)(void *);
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

ck_map *ck_map_new(void (*free_value)(void *))
{
	ck_map *m = ck_calloc(1, sizeof(*m));
	m->n_buckets = 16;
	m->buckets = ck_calloc(m->n_buckets, sizeof(*m->buckets));
	m->free_value = free_value;
	return m;
}

ck_map *ck_map_free(ck_map *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->n_buckets; i++) {
		entry *e = m->buckets[i];
		while (e) {
			entry *n = e->next;
			if (m->free_value)
				m->free_value(e->value);
			free(e);
			e = n;
		}
	}
	free(m->buckets);
	free(m);
	return NULL;
}

void ck_map_freep(ck_map **m)
{
	ck_map_free(*m);
}

static entry **find(const ck_map *m, const char *key, uint64_t h)
{
	entry **p = &m->buckets[h & (m->n_buckets - 1)];
	for (; *p; p = &(*p)->next)
		if ((*p)->hash == h && !strcmp((*p)->key, key))
			return p;
	return p;
}

void *ck_map_get(const ck_map *m, const char *key)
{
	entry **p = find(m, key, hash_str(key));
	return *p ? (*p)->value : NULL;
}

bool ck_map_contains(const ck_map *m, const char *key)
{
	return *find(m, key, hash_str(key)) != NULL;
}

static void grow(ck_map *m)
{
	size_t n = m->n_buckets * 2;
	entry **b = ck_calloc(n, sizeof(*b));
	for (size_t i = 0; i < m->n_buckets; i++) {
		entry *e = m->buckets[i];
		while (e) {
			entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

void ck_map_set(ck_map *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	entry **p = find(m, key, h);
	if (*p) {
		if (m->free_value && (*p)->value != value)
			m->free_value((*p)->value);
		(*p)->value = value;
		return;
	}
	size_t kl = strlen(key);
	entry *e = ck_malloc(sizeof(*e) + kl + 1);
	memcpy(e->key, key, kl + 1);
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*p = e;
	if (++m->len > m->n_buckets)
		grow(m);
}

void *ck_map_take(ck_map *m, const char *key)
{
	entry **p = find(m, key, hash_str(key));
	if (!*p)
		return NULL;
	entry *e = *p;
	*p = e->next;
	void *v = e->value;
	free(e);
	m->len--;
	return v;
}

bool ck_map_remove(ck_map *m, const char *key)
{
	entry **p = find(m, key, hash_str(key));
	if (!*p)
		return false;
	entry *e = *p;
	*p = e->next;
	if (m->free_value)
		m->free_value(e->value);
	free(e);
	m->len--;
	return true;
}

size_t ck_map_len(const ck_map *m)
{
	return m->len;
}

bool ck_map_next(const ck_map *m, ck_map_iter *it, const char **key, void **value)
{
	entry *e = it->next;
	if (!it->entry && !it->next && it->bucket == 0)
		e = m->buckets[0];
	while (!e) {
		if (++it->bucket >= m->n_buckets)
			return false;
		e = m->buckets[it->bucket];
	}
	it->entry = e;
	it->next = e->next;
	if (key)
		*key = e->key;
	if (value)
		*value = e->value;
	return true;
}
