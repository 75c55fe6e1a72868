/*
 * replay.c - a fuzz target without libFuzzer: runs it once on each file of
 * its corpus, so that `make test` (and the sanitizer builds) replay every
 * input the fuzzer kept.  A target aborts on what it finds; here that is a
 * crash with no summary line, which tests/run.sh counts as a failure.
 *
 *   test_fuzz_X [FILE|DIR]...   default: the corpus folder FUZZ_CORPUS
 * Ends with "N passed, 0 failed" (inputs run).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long size;

	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	return 1;
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char child[4096];
	int n = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no such file or folder: %s\n", path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if (!(d = opendir(path))) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		exit(1);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(child, sizeof child, "%s/%s", path, e->d_name);
		n += run_path(child);
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int n = 0;

	if (argc < 2)
		n = run_path(FUZZ_CORPUS);
	for (int i = 1; i < argc; i++)
		n += run_path(argv[i]);
	printf("%d passed, 0 failed\n", n);
	return 0;
}
