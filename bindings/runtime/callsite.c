/*
 * callsite.c - the call-site texts (callsite.h): a hash set (open
 * addressing, doubled at half full) under one lock; texts are never freed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/callsite.h"

static pthread_mutex_t sites_mu = PTHREAD_MUTEX_INITIALIZER;
static char **sites;            /* sites_mu */
static size_t sites_cap, sites_len;

static size_t site_hash(const char *s)
{
	size_t h = 2166136261u;     /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of s in a table of cap (a power of two): its own or an empty one. */
static size_t site_slot(char **tab, size_t cap, const char *s)
{
	size_t i = site_hash(s) & (cap - 1);

	while (tab[i] && strcmp(tab[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static bool sites_grow(void)
{
	size_t cap = sites_cap ? sites_cap * 2 : 64;
	char **tab = calloc(cap, sizeof *tab);

	if (!tab)
		return false;
	for (size_t i = 0; i < sites_cap; i++)
		if (sites[i])
			tab[site_slot(tab, cap, sites[i])] = sites[i];
	free(sites);
	sites = tab;
	sites_cap = cap;
	return true;
}

const char *chl_callsite(const char *site)
{
	const char *kept = "?";     /* out of memory: a dump says less */
	size_t i;

	pthread_mutex_lock(&sites_mu);
	if (sites_len * 2 >= sites_cap && !sites_grow())
		goto out;
	i = site_slot(sites, sites_cap, site);
	if (!sites[i]) {
		if (!(sites[i] = strdup(site)))
			goto out;
		sites_len++;
	}
	kept = sites[i];
out:
	pthread_mutex_unlock(&sites_mu);
	return kept;
}
