/* status.c - Go's words for chanlab's status codes. */
#include "status.h"

const char *chl_strerror(int status)
{
	switch ((chl_status)status) {
	case CHL_OK: return "ok";
	case CHL_WAIT: return "must wait";
	case CHL_CLOSED: return "send on closed channel";
	case CHL_CLOSE_CLOSED: return "close of closed channel";
	case CHL_CLOSE_NIL: return "close of nil channel";
	case CHL_WOULDBLOCK: return "operation would block";
	case CHL_CANCELED: return "context canceled";
	case CHL_DEADLINE: return "context deadline exceeded";
	case CHL_TIMEOUT: return "deadline passed";
	case CHL_NEGATIVE_WG: return "sync: negative WaitGroup counter";
	case CHL_UNLOCK_UNLOCKED: return "sync: unlock of unlocked mutex";
	case CHL_SEM_OVERRELEASE: return "semaphore: released more than held";
	case CHL_SEM_TOOBIG: return "semaphore: acquire more than the semaphore's size";
	case CHL_NOMEM: return "out of memory";
	case CHL_INVAL: return "invalid argument";
	case CHL_NIL: return "operation on nil handle";
	case CHL_NOSIG: return "unsupported signal";
	}
	return "unknown status";
}
