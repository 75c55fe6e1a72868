/*
 * limitargs.h - the command-line options of the limits and the sandbox
 * (runtime/limits.h):
 *
 *   --sandbox              the restricted standard library, and the
 *                          defaults below for every limit not given
 *   --mem-limit SIZE       the whole program (256M with --sandbox)
 *   --goroutine-mem SIZE   each goroutine's Lua state
 *   --cpu-limit SECONDS    process CPU time (10 with --sandbox)
 *   --timeout SECONDS      wall time (30 with --sandbox)
 *   --max-goroutines N     alive at once (10000 with --sandbox)
 *   --max-buffer N         a channel's buffer (1048576 with --sandbox)
 *
 * SIZE is bytes with an optional unit K, M, G (powers of 1024; "KiB",
 * "MB"... read the same).  Each option also takes its value as
 * --option=value.
 */
#ifndef CHL_LIMITARGS_H
#define CHL_LIMITARGS_H

#include <stdbool.h>

#include "runtime/limits.h"

/* If argv[*i] is one of the options above, store it in l, step *i past
 * its value and return true; a bad value calls die(message), which does
 * not return.  Otherwise return false. */
bool chl_limit_option(int argc, char **argv, int *i, chl_limits *l,
                      void (*die)(const char *msg));

/* After every option: --sandbox's defaults for the limits not given. */
void chl_limit_options_done(chl_limits *l);

#endif
