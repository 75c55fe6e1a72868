/*
 * explore.h - `chanlab explore`: run a script under many schedules and
 * report each distinct outcome with the command that replays it.
 */
#ifndef CHL_EXPLORE_H
#define CHL_EXPLORE_H

#include "decide.h"

/* Runs the script as `chanlab run` would (argv[0] "chanlab", argv[1]
 * "run", then the script and its arguments), deterministically with det;
 * never returns.  main.c's. */
typedef void (*chl_explore_start)(int argc, char **argv, const chl_decide_config *det);

/* `chanlab explore [options] script.lua [args...]`, argv[0] being
 * "explore".  Forks one child per run (a crash of one run ends only that
 * run); must be called before any runtime thread exists.  Returns the exit
 * status: 0 when the exploration ran (whatever the outcomes), 1 on usage
 * errors. */
int chl_explore_main(int argc, char **argv, chl_explore_start start);

#endif
