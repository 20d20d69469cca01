/* schemagen: writes the schema tables (lib/api/schema.h) at build time.
 *
 * Usage: ckube-schemagen ANNOTATIONS OUT.c
 *
 * It links the protobuf-c code of proto/k8s and the list of its message descriptors
 * (schemagen_descs.c, made by descs.cmake from the generated headers), reads the
 * annotations file (its syntax is described at its top) and writes one schema_type per
 * message, sorted by name, with one schema_field per descriptor field. A line naming a
 * message or field that does not exist, or an unknown attribute, fails the build. The
 * output depends only on the inputs (no dates, no pointers). This tool is a build step:
 * it uses nothing of lib/ but the header it writes for. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "api/schema.h"

extern const ProtobufCMessageDescriptor *const schemagen_descs[];
extern const char *const schemagen_syms[];
extern const size_t schemagen_n_descs;

struct gfield {
	unsigned strategy;
	char *merge_key;
	enum schema_list_type list_type;
	char *map_keys; /* comma-separated */
	bool map_atomic, keep_zero, inline_;
	char *default_json, *desc;
};

struct gtype {
	const ProtobufCMessageDescriptor *md;
	const char *sym;
	enum schema_special special;
	char *desc;
	struct gfield *fields;
};

static struct gtype *types;
static size_t n_types;

static void die(const char *path, int line, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s:%d: ", path, line);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d) {
		perror("schemagen");
		exit(1);
	}
	return d;
}

static int type_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gtype *)a)->md->name, ((const struct gtype *)b)->md->name);
}

static struct gtype *type_find(const char *name)
{
	ProtobufCMessageDescriptor key_md = {.name = name};
	struct gtype key = {.md = &key_md};
	return bsearch(&key, types, n_types, sizeof(*types), type_cmp);
}

/* The same test as pb.c's pb_is_map: protoc-c keeps no map_entry option. */
static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);
	return d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && d->fields[0].id == 1 &&
	       strcmp(d->fields[1].name, "value") == 0 && d->fields[1].id == 2;
}

/* Splits the next token of *p: "key" or "key=value" or key="quoted \"value\""
 * (*quoted tells which). Returns false at the end of the line or at a comment. */
static bool next_token(char **p, char **key, char **val, bool *quoted)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n' || *s == '#')
		return false;
	*key = s;
	*val = NULL;
	*quoted = false;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '=')
		s++;
	if (*s == '=') {
		*s++ = '\0';
		*val = w = s;
		if (*s == '"') {
			*quoted = true;
			*val = w = ++s;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				*w++ = *s++;
			}
			if (*s == '"')
				s++;
		} else {
			while (*s && *s != ' ' && *s != '\t' && *s != '\n')
				*w++ = *s++;
		}
		if (*s)
			s++;
		*w = '\0';
	} else if (*s) {
		*s++ = '\0';
	}
	*p = s;
	return true;
}

static unsigned parse_strategy(const char *path, int line, char *v)
{
	unsigned bits = 0;
	for (char *tok = strtok(v, ","); tok; tok = strtok(NULL, ",")) {
		if (!strcmp(tok, "merge"))
			bits |= SCHEMA_PATCH_MERGE;
		else if (!strcmp(tok, "replace"))
			bits |= SCHEMA_PATCH_REPLACE;
		else if (!strcmp(tok, "retainKeys"))
			bits |= SCHEMA_PATCH_RETAIN_KEYS;
		else
			die(path, line, "unknown patch strategy %s", tok);
	}
	return bits;
}

static void field_attr(const char *path, int line, struct gfield *f, const char *k, char *v,
                       bool quoted)
{
	if (!strcmp(k, "keep-zero")) {
		f->keep_zero = true;
		return;
	}
	if (!strcmp(k, "inline")) {
		f->inline_ = true;
		return;
	}
	if (!v)
		die(path, line, "attribute %s needs a value", k);
	if (!strcmp(k, "merge-key")) {
		f->merge_key = xstrdup(v);
	} else if (!strcmp(k, "strategy")) {
		f->strategy = parse_strategy(path, line, v);
	} else if (!strcmp(k, "list")) {
		if (!strcmp(v, "atomic"))
			f->list_type = SCHEMA_LIST_ATOMIC;
		else if (!strcmp(v, "set"))
			f->list_type = SCHEMA_LIST_SET;
		else if (!strcmp(v, "map"))
			f->list_type = SCHEMA_LIST_MAP;
		else
			die(path, line, "unknown list type %s", v);
	} else if (!strcmp(k, "map-keys")) {
		f->map_keys = xstrdup(v);
	} else if (!strcmp(k, "map")) {
		if (strcmp(v, "atomic"))
			die(path, line, "unknown map type %s", v);
		f->map_atomic = true;
	} else if (!strcmp(k, "default")) {
		/* JSON text; a quoted value is a JSON string (no escapes needed in defaults). */
		if (quoted && asprintf(&f->default_json, "\"%s\"", v) < 0)
			die(path, line, "%s", "out of memory");
		if (!quoted)
			f->default_json = xstrdup(v);
	} else if (!strcmp(k, "desc")) {
		f->desc = xstrdup(v);
	} else {
		die(path, line, "unknown field attribute %s", k);
	}
}

static void type_attr(const char *path, int line, struct gtype *t, const char *k, const char *v)
{
	static const struct {
		const char *name;
		enum schema_special special;
	} specials[] = {
	    {"time", SCHEMA_TIME},
	    {"micro-time", SCHEMA_MICRO_TIME},
	    {"duration", SCHEMA_DURATION},
	    {"quantity", SCHEMA_QUANTITY},
	    {"int-or-string", SCHEMA_INT_OR_STRING},
	    {"raw-extension", SCHEMA_RAW_EXTENSION},
	    {"fields-v1", SCHEMA_FIELDS_V1},
	    {"extra-value", SCHEMA_EXTRA_VALUE},
	};

	if (!v)
		die(path, line, "attribute %s needs a value", k);
	if (!strcmp(k, "desc")) {
		t->desc = xstrdup(v);
		return;
	}
	if (strcmp(k, "special"))
		die(path, line, "unknown message attribute %s", k);
	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
		if (!strcmp(specials[i].name, v)) {
			t->special = specials[i].special;
			return;
		}
	die(path, line, "unknown special type %s", v);
}

static void read_annotations(const char *path)
{
	FILE *in = fopen(path, "re");
	char buf[4096], pkg[512] = "", full[1024];
	int line = 0;

	if (!in)
		die(path, 0, "cannot open: %s", strerror(errno));
	while (fgets(buf, sizeof(buf), in)) {
		char *p = buf, *msg, *field, *k, *v;
		bool quoted;
		struct gtype *t;
		line++;
		if (!next_token(&p, &msg, &v, &quoted))
			continue;
		if (!strcmp(msg, "package")) {
			if (!next_token(&p, &k, &v, &quoted))
				die(path, line, "%s", "package needs a name");
			snprintf(pkg, sizeof(pkg), "%s", k);
			continue;
		}
		if (v || !next_token(&p, &field, &v, &quoted) || v)
			die(path, line, "%s", "want: Message field|- attribute...");
		snprintf(full, sizeof(full), "%s.%s", pkg, msg);
		t = type_find(full);
		if (!t)
			die(path, line, "no message %s", full);
		if (!strcmp(field, "-")) {
			while (next_token(&p, &k, &v, &quoted))
				type_attr(path, line, t, k, v);
			continue;
		}
		size_t i;
		for (i = 0; i < t->md->n_fields; i++)
			if (!strcmp(t->md->fields[i].name, field))
				break;
		if (i == t->md->n_fields)
			die(path, line, "no field %s", field);
		while (next_token(&p, &k, &v, &quoted))
			field_attr(path, line, &t->fields[i], k, v, quoted);
	}
	fclose(in);
}

/* Writes s as a C string literal, or NULL. */
static void put_str(FILE *out, const char *s)
{
	if (!s) {
		fputs("NULL", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static const char *kind_name(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_BOOL:
		return "SCHEMA_BOOL";
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return "SCHEMA_INT32";
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return "SCHEMA_INT64";
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return "SCHEMA_NUMBER";
	case PROTOBUF_C_TYPE_BYTES:
		return "SCHEMA_BYTES";
	case PROTOBUF_C_TYPE_MESSAGE:
		return "SCHEMA_MESSAGE";
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_ENUM:
		break;
	}
	return "SCHEMA_STRING";
}

static const char *const list_names[] = {"SCHEMA_LIST_UNSET", "SCHEMA_LIST_ATOMIC",
                                         "SCHEMA_LIST_SET", "SCHEMA_LIST_MAP"};

static void put_field(FILE *out, size_t ti, size_t fi)
{
	const ProtobufCFieldDescriptor *d = &types[ti].md->fields[fi];
	const struct gfield *g = &types[ti].fields[fi];
	bool map = d->type == PROTOBUF_C_TYPE_MESSAGE && d->label == PROTOBUF_C_LABEL_REPEATED &&
	           is_map_entry(d->descriptor);
	/* A map's value type is the entry's second field. */
	const ProtobufCFieldDescriptor *v =
	    map ? &((const ProtobufCMessageDescriptor *)d->descriptor)->fields[1] : d;

	fputs("\t{.name = ", out);
	put_str(out, d->name);
	fprintf(out, ", .number = %u, .kind = %s", d->id, kind_name(v->type));
	if (map)
		fputs(", .map = true", out);
	else if (d->label == PROTOBUF_C_LABEL_REPEATED)
		fputs(", .repeated = true", out);
	if (v->type == PROTOBUF_C_TYPE_MESSAGE) {
		const struct gtype *vt =
		    type_find(((const ProtobufCMessageDescriptor *)v->descriptor)->name);
		fprintf(out, ", .type = &schema_gen_types[%zu]", (size_t)(vt - types));
	}
	if (g->strategy)
		fprintf(out, ", .strategy = %u", g->strategy);
	if (g->merge_key) {
		fputs(", .merge_key = ", out);
		put_str(out, g->merge_key);
	}
	if (g->list_type)
		fprintf(out, ", .list_type = %s", list_names[g->list_type]);
	if (g->map_keys)
		fprintf(out, ", .list_map_keys = keys_%zu_%zu", ti, fi);
	if (g->map_atomic)
		fputs(", .map_atomic = true", out);
	if (g->keep_zero)
		fputs(", .keep_zero = true", out);
	if (g->inline_)
		fputs(", .inline_ = true", out);
	if (g->default_json) {
		fputs(", .default_json = ", out);
		put_str(out, g->default_json);
	}
	if (g->desc) {
		fputs(", .description = ", out);
		put_str(out, g->desc);
	}
	fputs("},\n", out);
}

static const char *const special_names[] = {
    "SCHEMA_OBJECT",      "SCHEMA_TIME",          "SCHEMA_MICRO_TIME",    "SCHEMA_DURATION",
    "SCHEMA_QUANTITY",    "SCHEMA_INT_OR_STRING", "SCHEMA_RAW_EXTENSION", "SCHEMA_FIELDS_V1",
    "SCHEMA_EXTRA_VALUE", "SCHEMA_MAP_ENTRY",
};

static void write_tables(FILE *out)
{
	fputs("/* Generated by lib/api/schemagen from proto/k8s and proto/k8s/annotations.txt: "
	      "do not edit. */\n#include <stddef.h>\n\n#include \"api/schema.h\"\n\n",
	      out);
	for (size_t i = 0; i < n_types; i++)
		fprintf(out, "extern const ProtobufCMessageDescriptor %s;\n", types[i].sym);
	fprintf(out, "\nextern const schema_type schema_gen_types[%zu];\n", n_types);
	fprintf(out, "extern const size_t schema_gen_n_types;\n\n");
	for (size_t i = 0; i < n_types; i++) {
		for (size_t j = 0; j < types[i].md->n_fields; j++) {
			char *keys = types[i].fields[j].map_keys;
			if (!keys)
				continue;
			fprintf(out, "static const char *const keys_%zu_%zu[] = {", i, j);
			for (char *tok = strtok(keys, ","); tok; tok = strtok(NULL, ",")) {
				put_str(out, tok);
				fputs(", ", out);
			}
			fputs("NULL};\n", out);
		}
		if (!types[i].md->n_fields)
			continue;
		fprintf(out, "static const schema_field fields_%zu[] = {\n", i);
		for (size_t j = 0; j < types[i].md->n_fields; j++)
			put_field(out, i, j);
		fputs("};\n", out);
	}
	fprintf(out, "\nconst schema_type schema_gen_types[%zu] = {\n", n_types);
	for (size_t i = 0; i < n_types; i++) {
		const char *name = types[i].md->name;
		fputs("\t{.name = ", out);
		put_str(out, name);
		/* Upstream's OpenAPI names: "k8s.io.api..." becomes "io.k8s.api...". */
		fprintf(out, ", .openapi_name = \"%s%s\"",
		        strncmp(name, "k8s.io.", 7) ? "" : "io.k8s.",
		        strncmp(name, "k8s.io.", 7) ? name : name + 7);
		fprintf(out, ", .pb = &%s, .special = %s", types[i].sym,
		        special_names[types[i].special]);
		if (types[i].md->n_fields)
			fprintf(out, ", .fields = fields_%zu, .n_fields = %u", i,
			        types[i].md->n_fields);
		if (types[i].desc) {
			fputs(", .description = ", out);
			put_str(out, types[i].desc);
		}
		fputs("},\n", out);
	}
	fprintf(out, "};\n\nconst size_t schema_gen_n_types = %zu;\n", n_types);
}

int main(int argc, char **argv)
{
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: %s ANNOTATIONS OUT.c\n", argv[0]);
		return 2;
	}
	n_types = schemagen_n_descs;
	types = calloc(n_types, sizeof(*types));
	if (!types)
		return 1;
	for (size_t i = 0; i < n_types; i++) {
		types[i].md = schemagen_descs[i];
		types[i].sym = schemagen_syms[i];
		types[i].fields = calloc(types[i].md->n_fields + 1, sizeof(struct gfield));
		if (!types[i].fields)
			return 1;
		if (is_map_entry(types[i].md))
			types[i].special = SCHEMA_MAP_ENTRY;
	}
	qsort(types, n_types, sizeof(*types), type_cmp);
	read_annotations(argv[1]);
	out = fopen(argv[2], "we");
	if (!out)
		die(argv[2], 0, "cannot create: %s", strerror(errno));
	write_tables(out);
	if (fclose(out) != 0)
		die(argv[2], 0, "cannot write: %s", strerror(errno));
	return 0;
}
