/*
 * limitargs.c - the limits' command-line options (limitargs.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "interp/limitargs.h"

/* "64M", "1G", "4096", "1.5GiB" */
static bool parse_size(const char *s, size_t *out)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1;

	if (end == s || v < 0)
		return false;
	switch (toupper((unsigned char)*end)) {
	case 'K': mul = 1024.0; end++; break;
	case 'M': mul = 1024.0 * 1024; end++; break;
	case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
	}
	if (mul > 1 && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * mul < 1 || v * mul > (double)SIZE_MAX / 2)
		return false;
	*out = (size_t)(v * mul);
	return true;
}

static bool parse_secs(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v > 1e9)
		return false;
	*out = v;
	return true;
}

static bool parse_count(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || *end || v < 1)
		return false;
	*out = v;
	return true;
}

/* The option name at argv[*i] (with or without "=value"): its value, or
 * NULL when argv[*i] is not `name`. */
static const char *value_of(int argc, char **argv, int *i, const char *name,
                            void (*die)(const char *msg))
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	char msg[96];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		snprintf(msg, sizeof msg, "%s wants a value", name);
		die(msg);
	}
	return argv[++*i];
}

static void bad(void (*die)(const char *msg), const char *name, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof msg, "%s wants %s", name, what);
	die(msg);
}

bool chl_limit_option(int argc, char **argv, int *i, chl_limits *l,
                      void (*die)(const char *msg))
{
	const char *v;

	if (strcmp(argv[*i], "--sandbox") == 0) {
		l->sandbox = true;
	} else if ((v = value_of(argc, argv, i, "--mem-limit", die))) {
		if (!parse_size(v, &l->mem))
			bad(die, "--mem-limit", "a size (bytes, or with K, M, G)");
	} else if ((v = value_of(argc, argv, i, "--goroutine-mem", die))) {
		if (!parse_size(v, &l->goroutine_mem))
			bad(die, "--goroutine-mem", "a size (bytes, or with K, M, G)");
	} else if ((v = value_of(argc, argv, i, "--cpu-limit", die))) {
		if (!parse_secs(v, &l->cpu))
			bad(die, "--cpu-limit", "seconds > 0");
	} else if ((v = value_of(argc, argv, i, "--timeout", die))) {
		if (!parse_secs(v, &l->timeout))
			bad(die, "--timeout", "seconds > 0");
	} else if ((v = value_of(argc, argv, i, "--max-goroutines", die))) {
		if (!parse_count(v, &l->goroutines))
			bad(die, "--max-goroutines", "a whole number >= 1");
	} else if ((v = value_of(argc, argv, i, "--max-buffer", die))) {
		if (!parse_count(v, &l->chan_buffer))
			bad(die, "--max-buffer", "a whole number >= 1");
	} else {
		return false;
	}
	return true;
}

void chl_limit_options_done(chl_limits *l)
{
	if (l->sandbox)
		chl_limits_sandbox_defaults(l);
}
