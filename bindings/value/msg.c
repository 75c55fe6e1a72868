/*
 * msg.c - what a message's holder does with it besides decoding: free it
 * (dropping the handle references it owns, format.h) and measure it.
 * Separate from encode.c and decode.c because neither side owns a
 * message's end: a channel, a goroutine or a context frees it, on
 * whatever thread it last got to.
 */
#include <stdlib.h>

#include "value/format.h"
#include "value/msg.h"
#include "value/registry.h"

void chl_msg_free(chl_msg *m)
{
	if (m == NULL)
		return;
	const hrec *hs = (const hrec *)(m->data + m->hoff);
	for (uint32_t i = 0; i < m->nhandles; i++)
		chl_handle_types[hs[i].type]->release(hs[i].obj);
	free(m);
}

size_t chl_msg_size(const chl_msg *m)
{
	return sizeof *m + m->hoff + m->nhandles * sizeof(hrec);
}

int chl_msg_count(const chl_msg *m)
{
	return (int)m->nvalues;
}
