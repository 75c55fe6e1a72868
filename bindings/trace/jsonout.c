/*
 * jsonout.c - JSON values (jsonout.h).
 */
#include <inttypes.h>
#include <stdbool.h>

#include "trace/jsonout.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* Bytes that go out as they are: printable ASCII but " \\ < > &. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (!s) {
		fputs_unlocked("null", f);
		return;
	}
	putc_unlocked('"', f);
	while (*s) {
		const unsigned char *run = s;
		int n;

		while (plain(*s))
			s++;
		if (s > run)
			fwrite_unlocked(run, 1, (size_t)(s - run), f);
		if (!*s)
			break;
		switch (*s) {
		case '"':  fputs_unlocked("\\\"", f); s++; continue;
		case '\\': fputs_unlocked("\\\\", f); s++; continue;
		case '\n': fputs_unlocked("\\n", f); s++; continue;
		case '\t': fputs_unlocked("\\t", f); s++; continue;
		case '<': case '>': case '&':
			fprintf(f, "\\u%04x", *s++);
			continue;
		default:
			break;
		}
		if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s++);
		} else if ((n = utf8_len(s)) == 0) {
			fputs_unlocked("\\ufffd", f);
			s++;
		} else {
			fwrite_unlocked(s, 1, (size_t)n, f);
			s += n;
		}
	}
	putc_unlocked('"', f);
}

void json_int(FILE *f, int64_t v)
{
	char buf[24], *p = buf + sizeof buf;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	fputs_unlocked(p, f);
}

void json_us(FILE *f, int64_t ns)
{
	char frac[5];
	int r;

	if (ns < 0) {
		putc_unlocked('-', f);
		ns = -ns;
	}
	json_int(f, ns / 1000);
	r = (int)(ns % 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + r / 100);
	frac[2] = (char)('0' + r / 10 % 10);
	frac[3] = (char)('0' + r % 10);
	frac[4] = '\0';
	fputs_unlocked(frac, f);
}
