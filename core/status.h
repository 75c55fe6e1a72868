/*
 * status.h - the status codes every core function returns.
 *
 * 0 is success.  Negative codes are failures the caller must handle; each
 * has Go's words in chl_strerror().  CHL_WAIT is the one positive code: it
 * is not a failure but "a waiter was queued and the caller must now park"
 * (see waiter.h).  The core never aborts on a caller's misuse: it returns
 * CHL_MISUSE-family codes and the Lua layer turns them into errors.
 */
#ifndef CHL_STATUS_H
#define CHL_STATUS_H

typedef enum chl_status {
	CHL_OK = 0,
	CHL_WAIT = 1,             /* waiter queued, locks held: park now */
	CHL_CLOSED = -1,          /* send on closed channel */
	CHL_CLOSE_CLOSED = -2,    /* close of closed channel */
	CHL_CLOSE_NIL = -3,       /* close of nil channel */
	CHL_WOULDBLOCK = -4,      /* a try-operation found nothing ready */
	CHL_CANCELED = -5,        /* context canceled */
	CHL_DEADLINE = -6,        /* context deadline exceeded */
	CHL_TIMEOUT = -7,         /* a deadline passed before the operation */
	CHL_NEGATIVE_WG = -8,     /* sync: negative WaitGroup counter */
	CHL_UNLOCK_UNLOCKED = -9, /* sync: unlock of unlocked mutex */
	CHL_SEM_OVERRELEASE = -10,/* semaphore: released more than held */
	CHL_SEM_TOOBIG = -11,     /* semaphore: acquire more than capacity */
	CHL_NOMEM = -12,          /* out of memory */
	CHL_INVAL = -13,          /* invalid argument */
	CHL_NIL = -14,            /* operation on a nil handle */
	CHL_NOSIG = -15,          /* unknown or unsupported signal */
} chl_status;

/* Go's words for a status code; a static string, never NULL. */
const char *chl_strerror(int status);

#endif
