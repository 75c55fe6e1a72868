/*
 * lrt.h - the runtime layer as the API files (bindings/api/) see it: one
 * include for everything they build on.
 *
 *   rt.h        the runtime singleton and its scheduler
 *   error.h     the one rule for raising errors (Go's words, usage, memory)
 *   handle.h    handles: userdata sharing a core object, and their types
 *   lib.h       an API part (global name, opener, types to register)
 *   wait.h      how a C function blocks; a Lua value as a channel element
 *   goroutine.h spawning goroutines, the goroutine behind a state
 *   duration.h  seconds <-> nanoseconds
 *   leaks.h     what a handle type tells the leak detector (its reach)
 */
#ifndef CHL_LRT_H
#define CHL_LRT_H

#include "runtime/duration.h"
#include "runtime/error.h"
#include "runtime/goroutine.h"
#include "runtime/handle.h"
#include "runtime/leaks.h"
#include "runtime/lib.h"
#include "runtime/rt.h"
#include "runtime/wait.h"

#endif
